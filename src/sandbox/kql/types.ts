/** One table row; values are JSON values (Kusto `dynamic`), numbers, strings, booleans or null. */
export type Row = Record<string, unknown>;

export interface QueryResult {
  rows: Row[];
  /** False when the query uses take/limit or summarize: Resource Graph then returns no skip token, so it cannot page. */
  pageable: boolean;
}
