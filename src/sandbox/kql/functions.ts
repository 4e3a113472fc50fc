import { KqlError, at } from "./errors";
import { toKqlString } from "./values";

export interface ScalarFunction {
  minArgs: number;
  maxArgs: number;
  call: (args: unknown[], pos: number) => unknown;
  /** The same function for exactly one argument, sparing an array per row on hot paths like tostring(). */
  one?: (arg: unknown) => unknown;
}

/** Kusto's toint()/tolong(): reals truncate toward zero; text that is not a number gives null. */
function toInteger(value: unknown): number | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  let num: number;
  if (typeof value === "number") num = value;
  else if (typeof value === "string" && /^\s*[+-]?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value))
    num = Number(value);
  else return null;
  return Number.isFinite(num) ? Math.trunc(num) : null;
}

/** Kusto's tobool(): "true"/"false" in any case, numbers by being non-zero; anything else is null. */
function toBool(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  return null;
}

const unary = (fn: (value: unknown) => unknown): ScalarFunction => ({
  minArgs: 1,
  maxArgs: 1,
  call: (args) => fn(args[0]),
  one: fn,
});

const iff: ScalarFunction = {
  minArgs: 3,
  maxArgs: 3,
  call: ([cond, then, otherwise]) => (cond === true ? then : otherwise),
};

export const FUNCTIONS: Record<string, ScalarFunction> = {
  tostring: unary(toKqlString),
  tolower: unary((v) => toKqlString(v).toLowerCase()),
  toupper: unary((v) => toKqlString(v).toUpperCase()),
  // A datetime is held as milliseconds since 1970, so < and > compare two of them as Kusto does.
  todatetime: unary((v) => {
    const ms = typeof v === "string" ? Date.parse(v) : NaN;
    return Number.isNaN(ms) ? null : ms;
  }),
  tobool: unary(toBool),
  toboolean: unary(toBool),
  toint: unary(toInteger),
  tolong: unary(toInteger),
  // substring(source, start[, length]) (learn.microsoft.com/kusto/query/substring-function):
  // zero-based; a start past the end gives "".
  substring: {
    minArgs: 2,
    maxArgs: 3,
    call: ([source, start, length]) => {
      if (typeof start !== "number" || (length !== undefined && typeof length !== "number")) return null;
      const text = toKqlString(source);
      const from = Math.max(0, Math.trunc(start));
      return length === undefined
        ? text.slice(from)
        : text.slice(from, from + Math.max(0, Math.trunc(length)));
    },
  },
  array_length: unary((v) => (Array.isArray(v) ? v.length : null)),
  isnull: unary((v) => v === null),
  isnotnull: unary((v) => v !== null),
  // isempty(dynamic([])) is false in Kusto: only null and "" are empty.
  isempty: unary((v) => v === null || v === ""),
  isnotempty: unary((v) => !(v === null || v === "")),
  not: {
    minArgs: 1,
    maxArgs: 1,
    call: ([v], pos) => {
      if (v === null) return null;
      if (typeof v !== "boolean") throw new KqlError(`not() needs a boolean ${at(pos)}`);
      return !v;
    },
  },
  coalesce: {
    minArgs: 2,
    maxArgs: 64,
    // For strings Kusto skips empty values as well as nulls.
    call: (args) => args.find((v) => v !== null && v !== "") ?? args[args.length - 1],
  },
  strcat: {
    minArgs: 1,
    maxArgs: 64,
    call: (args) => args.map(toKqlString).join(""),
  },
  iff,
  iif: iff,
  // Concatenates dynamic arrays; any argument that is not an array makes it null
  // (learn.microsoft.com/kusto/query/array-concat-function).
  array_concat: {
    minArgs: 1,
    maxArgs: 64,
    call: (args) => (args.every(Array.isArray) ? (args as unknown[][]).flat(1) : null),
  },
  array_slice: {
    minArgs: 3,
    maxArgs: 3,
    // Inclusive end; negative indexes count from the end; out-of-range bounds are clamped
    // (learn.microsoft.com/kusto/query/array-slice-function).
    call: ([array, start, end]) => {
      if (!Array.isArray(array) || typeof start !== "number" || typeof end !== "number") return null;
      const from = Math.max(0, start < 0 ? array.length + start : start);
      const to = Math.min(array.length - 1, end < 0 ? array.length + end : end);
      return from > to ? [] : array.slice(from, to + 1);
    },
  },
  split: {
    minArgs: 2,
    maxArgs: 2,
    call: ([source, delimiter]) => toKqlString(source).split(toKqlString(delimiter)),
  },
};
