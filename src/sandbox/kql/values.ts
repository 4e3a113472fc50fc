/** Kusto's rules for dynamic values: conversions, equality and ordering. */

export function isBag(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A missing property reads as null, never undefined. */
export function orNull(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Kusto's tostring(): null becomes "", arrays and property bags become compact JSON. */
export function toKqlString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || typeof b !== "object") return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Kusto `==`: two nulls give null, one null gives false
 * (learn.microsoft.com/kusto/query/scalar-data-types/null-values, "Equality and inequality of null values").
 * Strings compare case-sensitively.
 */
export function kqlEquals(a: unknown, b: unknown): boolean | null {
  if (a === null && b === null) return null;
  if (a === null || b === null) return false;
  return sameValue(a, b);
}

/** Ordering for sort keys of one type; the caller has taken nulls out and rejected arrays and bags. */
export function compareScalars(a: unknown, b: unknown): number {
  const ta = typeRank(a);
  const tb = typeRank(b);
  if (ta !== tb) return ta - tb;
  // Ordinal comparison, as Kusto sorts strings.
  if (a === b) return 0;
  return (a as number | string | boolean) < (b as number | string | boolean) ? -1 : 1;
}

function typeRank(value: unknown): number {
  if (typeof value === "boolean") return 0;
  if (typeof value === "number") return 1;
  return 2;
}
