import type { Aggregate, Assignment, Expr, Query, SortKey, TabularOp } from "./ast";
import { KqlError, at } from "./errors";
import { tokenize, type Token } from "./lexer";

const COMPARISON_PUNCT = ["==", "!=", "=~", "!~", "<", "<=", ">", ">="];

const STRING_OPS = new Set(
  ["has", "contains", "startswith", "endswith"].flatMap((op) => [op, `${op}_cs`, `!${op}`, `!${op}_cs`]),
);

const IN_OPS = new Set(["in", "in~", "!in", "!in~"]);

/** Kusto operators that may follow an operand but are outside the subset; named in the error instead of a vaguer one. */
const UNSUPPORTED_INFIX = new Set(
  ["between", "hasprefix", "hassuffix", "has_any", "has_all", "matches", "like"].flatMap((op) => [
    op,
    `!${op}`,
    `${op}_cs`,
    `!${op}_cs`,
  ]),
);

const AGGREGATIONS = new Set(["count", "sum", "min", "max", "make_set"]);

const MV_EXPAND_PARAMS = new Set(["kind", "bagexpansion", "with_itemindex", "itemindex"]);

export function parse(src: string): Query {
  return new Parser(src).parseQuery();
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(private readonly src: string) {
    this.tokens = tokenize(src);
  }

  parseQuery(): Query {
    const query = this.parsePipeline();
    const rest = this.peek();
    if (rest.kind !== "eof") throw new KqlError(`Unexpected ${this.describe(rest)} ${at(rest.pos)}`);
    return query;
  }

  /** A table and its operators, up to the end of the query or the `)` that closes a join's right side or a union's leg. */
  private parsePipeline(): Query {
    const first = this.next();
    if (first.kind !== "ident") throw new KqlError(`Expected a table name ${at(first.pos)}`);
    const afterTable = this.peek();
    if (afterTable.kind !== "eof" && !this.isPunct("|") && !this.isPunct(")")) {
      throw new KqlError(`Expected '|' after table name '${first.text}' ${at(afterTable.pos)}`);
    }
    const ops: TabularOp[] = [];
    while (this.isPunct("|")) {
      this.next();
      ops.push(this.parseOperator());
    }
    return { table: first.text, tablePos: first.pos, ops };
  }

  /** `join [kind=flavor] (right side) on column[, column...]`; `$left.a == $right.b` keys are outside the subset. */
  private parseJoin(pos: number): TabularOp {
    let flavor = "innerunique"; // Kusto's default join flavor.
    if (this.isIdent("kind") && this.isPunct("=", 1)) {
      this.next();
      this.next();
      const tok = this.next();
      if (tok.kind !== "ident") throw new KqlError(`Expected a join flavor ${at(tok.pos)}`);
      flavor = tok.text;
    }
    this.expectPunct("(");
    const right = this.parsePipeline();
    this.expectPunct(")");
    this.expectIdent("on");
    const on = this.commaList(() => {
      const col = this.parseColumnName();
      if (this.isPunct(".") || this.isPunct("=="))
        throw new KqlError(`join supports only 'on column' keys ${at(col.pos)}`);
      return col;
    });
    return { kind: "join", flavor, right, on, pos };
  }

  /**
   * `union (leg)[, (leg)...]` (learn.microsoft.com/kusto/query/union-operator): each leg a
   * parenthesized query; `kind=`, `withsource=` and bare table names are outside the subset.
   */
  private parseUnion(pos: number): TabularOp {
    if (!this.isPunct("("))
      throw new KqlError(`union supports only parenthesized legs: union (T | ...) ${at(pos)}`);
    const legs = this.commaList(() => {
      this.expectPunct("(");
      const leg = this.parsePipeline();
      this.expectPunct(")");
      return leg;
    });
    return { kind: "union", legs, pos };
  }

  // ---- tabular operators ----

  private parseOperator(): TabularOp {
    const start = this.peek();
    if (start.kind !== "ident") throw new KqlError(`Expected an operator ${at(start.pos)}`);
    this.next();
    const name = this.operatorName(start);
    const pos = start.pos;
    switch (name) {
      case "where":
        return { kind: "where", predicate: this.parseExpr(), pos };
      case "extend":
        return { kind: "extend", items: this.commaList(() => this.parseAssignment("extend", false)), pos };
      case "project":
        return { kind: "project", items: this.commaList(() => this.parseAssignment("project", true)), pos };
      case "project-away":
        return { kind: "project-away", columns: this.commaList(() => this.parseColumnName()), pos };
      case "mv-expand":
        return this.parseMvExpand(pos);
      case "order":
      case "sort":
        this.expectIdent("by");
        return { kind: "sort", keys: this.commaList(() => this.parseSortKey()), pos };
      case "take":
      case "limit":
        return { kind: "take", count: this.parseCount(name), pos };
      case "count":
        return { kind: "count", pos };
      case "summarize":
        return this.parseSummarize(pos);
      case "join":
        return this.parseJoin(pos);
      case "union":
        return this.parseUnion(pos);
      default:
        throw new KqlError(`Unsupported operator '${name}' ${at(pos)}`);
    }
  }

  /** Joins `mv` `-` `expand` back into one name; the lexer cannot, since `-` is also subtraction. */
  private operatorName(first: Token): string {
    let name = first.text;
    let last = first;
    for (;;) {
      const dash = this.peek();
      const word = this.peek(1);
      if (!(dash.kind === "punct" && dash.text === "-" && dash.pos === last.end)) break;
      if (!(word.kind === "ident" && word.pos === dash.end)) break;
      this.next();
      this.next();
      name += `-${word.text}`;
      last = word;
    }
    return name;
  }

  private parseAssignment(operator: string, allowBareColumn: boolean): Assignment {
    const tok = this.peek();
    if (tok.kind === "ident" && this.peek(1).kind === "punct" && this.peek(1).text === "=") {
      this.next();
      this.next();
      return { name: tok.text, expr: this.parseExpr(), pos: tok.pos };
    }
    const expr = this.parseExpr();
    if (allowBareColumn && expr.kind === "column") return { name: expr.name, expr, pos: expr.pos };
    throw new KqlError(`${operator} needs 'name = expression' here ${at(tok.pos)}`);
  }

  private parseColumnName(): { name: string; pos: number } {
    const tok = this.next();
    if (tok.kind !== "ident") throw new KqlError(`Expected a column name ${at(tok.pos)}`);
    return { name: tok.text, pos: tok.pos };
  }

  private parseMvExpand(pos: number): TabularOp {
    const tok = this.peek();
    if (tok.kind === "ident" && MV_EXPAND_PARAMS.has(tok.text) && this.isPunct("=", 1)) {
      throw new KqlError(`Unsupported mv-expand parameter '${tok.text}' ${at(tok.pos)}`);
    }
    const item = this.parseAssignment("mv-expand", true);
    const after = this.peek();
    if (this.isPunct(","))
      throw new KqlError(`mv-expand of several columns is not supported ${at(after.pos)}`);
    if (this.isIdent("to")) throw new KqlError(`Unsupported mv-expand clause 'to typeof()' ${at(after.pos)}`);
    let limit: number | null = null;
    if (this.isIdent("limit")) {
      this.next();
      limit = this.parseCount("mv-expand limit");
    }
    return { kind: "mv-expand", item, limit, pos };
  }

  private parseSortKey(): SortKey {
    const expr = this.parseExpr();
    let desc = true; // Kusto sorts descending unless told otherwise.
    if (this.isIdent("asc") || this.isIdent("desc")) desc = this.next().text === "desc";
    let nullsFirst = !desc;
    if (this.isIdent("nulls")) {
      this.next();
      const where = this.next();
      if (where.kind !== "ident" || (where.text !== "first" && where.text !== "last")) {
        throw new KqlError(`Expected 'first' or 'last' after 'nulls' ${at(where.pos)}`);
      }
      nullsFirst = where.text === "first";
    }
    return { expr, desc, nullsFirst };
  }

  private parseCount(what: string): number {
    const tok = this.next();
    if (tok.kind !== "number" || !Number.isInteger(tok.num)) {
      throw new KqlError(`${what} needs a whole number ${at(tok.pos)}`);
    }
    return tok.num;
  }

  private parseSummarize(pos: number): TabularOp {
    const aggregates = this.commaList(() => this.parseAggregate());
    let by: { name: string; pos: number }[] = [];
    if (this.isIdent("by")) {
      this.next();
      by = this.commaList(() => {
        const col = this.parseColumnName();
        if (!this.isPunct(",") && !this.isPunct("|") && this.peek().kind !== "eof") {
          throw new KqlError(`summarize by supports only column names ${at(col.pos)}`);
        }
        return col;
      });
    }
    return { kind: "summarize", aggregates, by, pos };
  }

  /**
   * `[name =] count()`, `sum(x)`, `min(x)`, `max(x)` or `make_set(x[, max])`; without a name Kusto
   * calls them count_, sum_x, min_x, max_x and set_x (learn.microsoft.com/kusto/query/summarize-operator).
   */
  private parseAggregate(): Aggregate {
    let name: string | null = null;
    if (this.peek().kind === "ident" && this.isPunct("=", 1)) {
      name = this.next().text;
      this.next();
    }
    const fn = this.next();
    if (fn.kind !== "ident" || !this.isPunct("(")) {
      throw new KqlError(`summarize needs an aggregation such as count() ${at(fn.pos)}`);
    }
    if (!AGGREGATIONS.has(fn.text)) throw new KqlError(`Unsupported aggregation '${fn.text}' ${at(fn.pos)}`);
    this.next();
    const args = this.parseArgs();
    const arity = fn.text === "count" ? [0, 0] : fn.text === "make_set" ? [1, 2] : [1, 1];
    if (args.length < arity[0]! || args.length > arity[1]!)
      throw new KqlError(`${fn.text}() takes ${arity.join(" to ")} arguments ${at(fn.pos)}`);
    const column = args[0]?.kind === "column" ? args[0].name : null;
    if (name === null && fn.text !== "count" && column === null)
      throw new KqlError(
        `Name the result of ${fn.text}() of an expression: 'name = ${fn.text}(…)' ${at(fn.pos)}`,
      );
    const prefix = { count: "count_", sum: "sum_", min: "min_", max: "max_", make_set: "set_" }[
      fn.text as Aggregate["fn"]
    ];
    return {
      name: name ?? (fn.text === "count" ? prefix : `${prefix}${column}`),
      fn: fn.text as Aggregate["fn"],
      args,
      pos: fn.pos,
    };
  }

  // ---- scalar expressions, lowest precedence first ----

  parseExpr(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isIdent("or")) {
      const pos = this.next().pos;
      left = { kind: "binary", op: "or", left, right: this.parseAnd(), pos };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseComparison();
    while (this.isIdent("and")) {
      const pos = this.next().pos;
      left = { kind: "binary", op: "and", left, right: this.parseComparison(), pos };
    }
    return left;
  }

  private parseComparison(): Expr {
    const left = this.parseAdditive();
    const tok = this.peek();
    if (tok.kind === "punct" && COMPARISON_PUNCT.includes(tok.text)) {
      this.next();
      return { kind: "binary", op: tok.text, left, right: this.parseAdditive(), pos: tok.pos };
    }
    if (tok.kind !== "ident") return left;
    if (STRING_OPS.has(tok.text)) {
      this.next();
      return { kind: "binary", op: tok.text, left, right: this.parseAdditive(), pos: tok.pos };
    }
    if (IN_OPS.has(tok.text)) {
      this.next();
      this.expectPunct("(");
      const list = this.commaList(() => this.parseExpr());
      this.expectPunct(")");
      return { kind: "in", op: tok.text, left, list, pos: tok.pos };
    }
    if (UNSUPPORTED_INFIX.has(tok.text))
      throw new KqlError(`Unsupported operator '${tok.text}' ${at(tok.pos)}`);
    return left;
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    while (this.isPunct("+") || this.isPunct("-")) {
      const tok = this.next();
      left = { kind: "binary", op: tok.text, left, right: this.parseMultiplicative(), pos: tok.pos };
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    while (this.isPunct("*") || this.isPunct("/")) {
      const tok = this.next();
      left = { kind: "binary", op: tok.text, left, right: this.parseUnary(), pos: tok.pos };
    }
    return left;
  }

  private parseUnary(): Expr {
    if (this.isPunct("-")) {
      const pos = this.next().pos;
      return { kind: "unary", op: "-", operand: this.parseUnary(), pos };
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Expr {
    let expr = this.parsePrimary();
    for (;;) {
      if (this.isPunct(".")) {
        const dot = this.next();
        const name = this.next();
        if (name.kind !== "ident") throw new KqlError(`Expected a property name after '.' ${at(name.pos)}`);
        expr = {
          kind: "index",
          target: expr,
          index: { kind: "literal", value: name.text, pos: name.pos },
          pos: dot.pos,
        };
      } else if (this.isPunct("[")) {
        const open = this.next();
        const index = this.parseExpr();
        this.expectPunct("]");
        expr = { kind: "index", target: expr, index, pos: open.pos };
      } else {
        return expr;
      }
    }
  }

  private parsePrimary(): Expr {
    const tok = this.next();
    switch (tok.kind) {
      case "number":
        return { kind: "literal", value: tok.num, pos: tok.pos };
      case "string":
        return { kind: "literal", value: tok.text, pos: tok.pos };
      case "punct":
        if (tok.text === "(") {
          const inner = this.parseExpr();
          this.expectPunct(")");
          return inner;
        }
        break;
      case "ident":
        if (tok.text === "true" || tok.text === "false") {
          return { kind: "literal", value: tok.text === "true", pos: tok.pos };
        }
        if (!this.isPunct("(")) return { kind: "column", name: tok.text, pos: tok.pos };
        this.next();
        if (tok.text === "dynamic") {
          const value = this.parseJson();
          this.expectPunct(")");
          return { kind: "literal", value, pos: tok.pos };
        }
        return { kind: "call", name: tok.text, args: this.parseArgs(), pos: tok.pos };
      case "eof":
        break;
    }
    throw new KqlError(`Expected an expression but found ${this.describe(tok)} ${at(tok.pos)}`);
  }

  private parseArgs(): Expr[] {
    if (this.isPunct(")")) {
      this.next();
      return [];
    }
    const args = this.commaList(() => this.parseExpr());
    this.expectPunct(")");
    return args;
  }

  /** The body of a `dynamic(...)` literal: JSON, with Kusto's single-quoted strings allowed too. */
  private parseJson(): unknown {
    const tok = this.next();
    if (tok.kind === "string") return tok.text;
    if (tok.kind === "number") return tok.num;
    if (tok.kind === "punct" && tok.text === "-" && this.peek().kind === "number") return -this.next().num;
    if (tok.kind === "ident" && tok.text === "true") return true;
    if (tok.kind === "ident" && tok.text === "false") return false;
    if (tok.kind === "ident" && tok.text === "null") return null;
    if (tok.kind === "punct" && tok.text === "[") {
      if (this.isPunct("]")) {
        this.next();
        return [];
      }
      const items = this.commaList(() => this.parseJson());
      this.expectPunct("]");
      return items;
    }
    if (tok.kind === "punct" && tok.text === "{") {
      const bag: Record<string, unknown> = {};
      if (this.isPunct("}")) {
        this.next();
        return bag;
      }
      this.commaList(() => {
        const key = this.next();
        if (key.kind !== "string") throw new KqlError(`Expected a quoted property name ${at(key.pos)}`);
        this.expectPunct(":");
        bag[key.text] = this.parseJson();
      });
      this.expectPunct("}");
      return bag;
    }
    throw new KqlError(`Unsupported dynamic literal content ${this.describe(tok)} ${at(tok.pos)}`);
  }

  // ---- token helpers ----

  private commaList<T>(item: () => T): T[] {
    const items = [item()];
    while (this.isPunct(",")) {
      this.next();
      items.push(item());
    }
    return items;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const tok = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return tok;
  }

  private isPunct(text: string, offset = 0): boolean {
    const tok = this.peek(offset);
    return tok.kind === "punct" && tok.text === text;
  }

  private isIdent(text: string): boolean {
    const tok = this.peek();
    return tok.kind === "ident" && tok.text === text;
  }

  private expectPunct(text: string): void {
    const tok = this.next();
    if (tok.kind !== "punct" || tok.text !== text) {
      throw new KqlError(`Expected '${text}' but found ${this.describe(tok)} ${at(tok.pos)}`);
    }
  }

  private expectIdent(text: string): void {
    const tok = this.next();
    if (tok.kind !== "ident" || tok.text !== text) {
      throw new KqlError(`Expected '${text}' but found ${this.describe(tok)} ${at(tok.pos)}`);
    }
  }

  private describe(tok: Token): string {
    return tok.kind === "eof" ? "end of query" : `'${this.src.slice(tok.pos, tok.end)}'`;
  }
}
