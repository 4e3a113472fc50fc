/** Table Storage runs at most 100 actions, all in one partition, in a transaction. */
export const TRANSACTION_LIMIT = 100;

export function chunks<T>(items: readonly T[], size = TRANSACTION_LIMIT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The HTTP status of a failed storage call (duck-typed: SDK errors may come from another realm under jest). */
export const statusOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null ? (error as { statusCode?: unknown }).statusCode : undefined;

/** 412: the entity changed since it was read; 409: someone else created it first. */
export const isConcurrencyConflict = (error: unknown) => statusOf(error) === 412 || statusOf(error) === 409;
