/** Parsed form of the supported KQL subset. Every node keeps its source position for error messages. */

export type Expr =
  | { kind: "literal"; value: unknown; pos: number }
  | { kind: "column"; name: string; pos: number }
  | { kind: "index"; target: Expr; index: Expr; pos: number }
  | { kind: "unary"; op: "-"; operand: Expr; pos: number }
  | { kind: "binary"; op: string; left: Expr; right: Expr; pos: number }
  | { kind: "in"; op: string; left: Expr; list: Expr[]; pos: number }
  | { kind: "call"; name: string; args: Expr[]; pos: number };

export interface Assignment {
  name: string;
  expr: Expr;
  pos: number;
}

/** One aggregation of `summarize`: `name = fn(args)`. */
export interface Aggregate {
  name: string;
  fn: "count" | "sum" | "min" | "max" | "make_set";
  args: Expr[];
  pos: number;
}

export interface SortKey {
  expr: Expr;
  desc: boolean;
  nullsFirst: boolean;
}

export type TabularOp =
  | { kind: "where"; predicate: Expr; pos: number }
  | { kind: "extend"; items: Assignment[]; pos: number }
  | { kind: "project"; items: Assignment[]; pos: number }
  | { kind: "project-away"; columns: { name: string; pos: number }[]; pos: number }
  | { kind: "mv-expand"; item: Assignment; limit: number | null; pos: number }
  | { kind: "sort"; keys: SortKey[]; pos: number }
  | { kind: "take"; count: number; pos: number }
  | { kind: "count"; pos: number }
  | { kind: "summarize"; aggregates: Aggregate[]; by: { name: string; pos: number }[]; pos: number }
  | { kind: "join"; flavor: string; right: Query; on: { name: string; pos: number }[]; pos: number }
  /** `union (leg)[, (leg)...]`: the rows so far, then each leg's (Kusto's default outer union). */
  | { kind: "union"; legs: Query[]; pos: number };

export interface Query {
  table: string;
  tablePos: number;
  ops: TabularOp[];
}
