import type { Expr } from "./ast";
import { KqlError, at } from "./errors";
import { FUNCTIONS } from "./functions";
import type { Row } from "./types";
import { kqlEquals, orNull, toKqlString } from "./values";

export type Evaluator = (row: Row) => unknown;

/** Columns a tabular operator's input is known to have; null when unknown (an empty table of no known shape). */
export type Schema = ReadonlySet<string> | null;

/** Checks an expression against the input columns once, then returns a function that evaluates it per row. */
export function compileExpr(expr: Expr, schema: Schema): Evaluator {
  switch (expr.kind) {
    case "literal": {
      const value = expr.value;
      return () => value;
    }
    case "column":
      return compileColumn(expr.name, expr.pos, schema);
    case "index":
      return compileIndex(expr, schema);
    case "unary": {
      const operand = compileExpr(expr.operand, schema);
      return (row) => arithmetic("-", 0, operand(row), expr.pos);
    }
    case "binary":
      return compileBinary(
        expr.op,
        compileExpr(expr.left, schema),
        compileExpr(expr.right, schema),
        expr.pos,
      );
    case "in":
      return compileIn(expr.op, expr.left, expr.list, schema);
    case "call":
      return compileCall(expr.name, expr.args, expr.pos, schema);
  }
}

export function checkColumn(name: string, pos: number, schema: Schema): void {
  if (schema === null || schema.has(name)) return;
  // Kusto column names are case-sensitive; a near miss is the likeliest mistake.
  const near = [...schema].find((c) => c.toLowerCase() === name.toLowerCase());
  const hint = near === undefined ? "" : ` (did you mean '${near}'?)`;
  throw new KqlError(`Unknown column '${name}' ${at(pos)}${hint}`);
}

function compileColumn(name: string, pos: number, schema: Schema): Evaluator {
  checkColumn(name, pos, schema);
  return (row) => ownValue(row, name);
}

function compileIndex(expr: Extract<Expr, { kind: "index" }>, schema: Schema): Evaluator {
  const target = compileExpr(expr.target, schema);
  const idx = expr.index;
  if (idx.kind === "unary" && idx.operand.kind === "literal" && typeof idx.operand.value === "number") {
    throw new KqlError(`Negative array indexes are not supported ${at(idx.pos)}`);
  }
  if (idx.kind === "literal") {
    const key = idx.value;
    return (row) => member(target(row), key);
  }
  const index = compileExpr(idx, schema);
  return (row) => member(target(row), index(row));
}

/** `a.b`, `a['b']`, `a[0]`: anything missing or of the wrong shape reads as null. */
function member(target: unknown, key: unknown): unknown {
  if (typeof target !== "object" || target === null) return null;
  if (typeof key === "number") {
    if (!Array.isArray(target)) return null;
    return Number.isInteger(key) && key >= 0 ? orNull(target[key]) : null;
  }
  if (typeof key !== "string") return null;
  const value = ownValue(target as Record<string, unknown>, key);
  return value !== null && Array.isArray(target) ? null : value;
}

/**
 * An object's own property, or null. Plain objects inherit only functions and `__proto__`, and JSON
 * holds no functions, so only those cases pay for Object.hasOwn, which is slow inside jest's VM context.
 */
function ownValue(obj: Record<string, unknown>, key: string): unknown {
  const value = obj[key];
  if (value === undefined) return null;
  if ((typeof value === "function" || key === "__proto__") && !Object.hasOwn(obj, key)) return null;
  return value;
}

const STRING_PREDICATES: Record<string, (haystack: string, needle: string) => boolean> = {
  contains: (h, n) => h.includes(n),
  startswith: (h, n) => h.startsWith(n),
  endswith: (h, n) => h.endsWith(n),
  has: hasTerm,
};

/**
 * Kusto `has`: the needle must sit on term boundaries, a term being a maximal run of alphanumerics
 * (learn.microsoft.com/kusto/query/datatypes-string-operators, "What is a term?").
 */
function hasTerm(haystack: string, needle: string): boolean {
  if (needle === "") return true;
  const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}]/u.test(c);
  for (let from = haystack.indexOf(needle); from >= 0; from = haystack.indexOf(needle, from + 1)) {
    const end = from + needle.length;
    const startOk = !isWord(needle[0]) || !isWord(haystack[from - 1]);
    const endOk = !isWord(needle[needle.length - 1]) || !isWord(haystack[end]);
    if (startOk && endOk) return true;
  }
  return false;
}

function compileBinary(op: string, left: Evaluator, right: Evaluator, pos: number): Evaluator {
  switch (op) {
    case "and":
      return (row) => and(logical(op, left(row), pos), () => logical(op, right(row), pos));
    case "or":
      return (row) => or(logical(op, left(row), pos), () => logical(op, right(row), pos));
    case "==":
      return (row) => kqlEquals(left(row), right(row));
    case "!=":
      return (row) => negate(kqlEquals(left(row), right(row)));
    case "=~":
      return (row) => toKqlString(left(row)).toLowerCase() === toKqlString(right(row)).toLowerCase();
    case "!~":
      return (row) => toKqlString(left(row)).toLowerCase() !== toKqlString(right(row)).toLowerCase();
    case "<":
    case "<=":
    case ">":
    case ">=":
      return (row) => ordering(op, left(row), right(row), pos);
    case "+":
    case "-":
    case "*":
    case "/":
      return (row) => arithmetic(op, left(row), right(row), pos);
  }
  const negated = op.startsWith("!");
  const caseSensitive = op.endsWith("_cs");
  const base = op.replace(/^!/, "").replace(/_cs$/, "");
  const test = STRING_PREDICATES[base];
  if (test === undefined) throw new KqlError(`Unsupported operator '${op}' ${at(pos)}`);
  const fold = caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  return (row) => test(fold(toKqlString(left(row))), fold(toKqlString(right(row)))) !== negated;
}

function logical(op: string, value: unknown, pos: number): boolean | null {
  if (value === null || typeof value === "boolean") return value;
  throw new KqlError(`Operator '${op}' needs boolean operands ${at(pos)}`);
}

// Three-valued logic: false wins over null in `and`, true wins over null in `or`.
function and(left: boolean | null, right: () => boolean | null): boolean | null {
  if (left === false) return false;
  const r = right();
  if (r === false) return false;
  return left === null || r === null ? null : true;
}

function or(left: boolean | null, right: () => boolean | null): boolean | null {
  if (left === true) return true;
  const r = right();
  if (r === true) return true;
  return left === null || r === null ? null : false;
}

function negate(value: boolean | null): boolean | null {
  return value === null ? null : !value;
}

function ordering(op: string, a: unknown, b: unknown, pos: number): boolean | null {
  if (typeof a === "string" && typeof b === "string") {
    // Kusto defines < and > on numbers and dates, not on strings (it offers strcmp() for that).
    throw new KqlError(`Operator '${op}' does not compare strings ${at(pos)}`);
  }
  if (typeof a !== "number" || typeof b !== "number") return null;
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    default:
      return a >= b;
  }
}

function arithmetic(op: string, a: unknown, b: unknown, pos: number): number | null {
  if (typeof a === "string" || typeof b === "string") {
    throw new KqlError(`Operator '${op}' needs numbers, not strings ${at(pos)}`);
  }
  if (typeof a !== "number" || typeof b !== "number") return null;
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    default:
      // Whole numbers stand for Kusto longs, whose division truncates; a long divided by zero has no value.
      if (Number.isInteger(a) && Number.isInteger(b)) return b === 0 ? null : Math.trunc(a / b);
      return a / b;
  }
}

/** `in` compares like `==` (`in~` like `=~`); a dynamic array in the list contributes its elements. */
function compileIn(op: string, leftExpr: Expr, listExprs: Expr[], schema: Schema): Evaluator {
  const left = compileExpr(leftExpr, schema);
  const list = listExprs.map((e) => compileExpr(e, schema));
  const negated = op.startsWith("!");
  const caseInsensitive = op.endsWith("~");
  return (row) => {
    const value = left(row);
    const candidates = list.flatMap((item) => {
      const v = item(row);
      return Array.isArray(v) ? v : [v];
    });
    let found: boolean;
    if (caseInsensitive) {
      const needle = toKqlString(value).toLowerCase();
      found = candidates.some((c) => toKqlString(c).toLowerCase() === needle);
    } else {
      found = value !== null && candidates.some((c) => kqlEquals(value, c) === true);
    }
    return found !== negated;
  };
}

function compileCall(name: string, argExprs: Expr[], pos: number, schema: Schema): Evaluator {
  const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (fn === undefined) throw new KqlError(`Unsupported function '${name}' ${at(pos)}`);
  if (argExprs.length < fn.minArgs || argExprs.length > fn.maxArgs) {
    const expected = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
    throw new KqlError(
      `Function '${name}' takes ${expected} argument(s), not ${argExprs.length}, ${at(pos)}`,
    );
  }
  const args = argExprs.map((e) => compileExpr(e, schema));
  const one = fn.one;
  if (one !== undefined && args.length === 1) {
    const arg = args[0];
    return (row) => one(arg(row));
  }
  return (row) =>
    fn.call(
      args.map((a) => a(row)),
      pos,
    );
}
