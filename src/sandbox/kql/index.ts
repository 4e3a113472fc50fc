import { evaluate } from "./evaluate";
import { parse } from "./parser";
import type { QueryResult, Row } from "./types";

export { KqlError } from "./errors";
export { MV_EXPAND_DEFAULT_LIMIT, MV_EXPAND_MAX_LIMIT } from "./evaluate";
export type { QueryResult, Row } from "./types";

/**
 * Runs a query in the KQL subset the scanner sends to Azure Resource Graph against in-memory tables,
 * with Kusto's semantics. Table names match case-insensitively, as in Resource Graph.
 * Throws KqlError for anything outside the subset rather than guessing.
 */
export function runQuery(query: string, tables: Record<string, Row[]>): QueryResult {
  return evaluate(parse(query), tables);
}
