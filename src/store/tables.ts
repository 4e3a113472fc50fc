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

/**
 * Table Storage limits (learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions
 * and understanding-the-table-service-data-model): a batch holds at most 100 entities and at most
 * 4 MiB of payload; an entity at most 1 MiB. Each operation of a batch also carries its own
 * multipart headers, counted here generously.
 */
export const BATCH_MAX_BYTES = 4 * 1024 * 1024;
export const ENTITY_MAX_BYTES = 1024 * 1024;
const OPERATION_OVERHEAD_BYTES = 2048;
/** The changeset's own boundaries and headers. */
const BATCH_OVERHEAD_BYTES = 4096;

/** Bytes an entity takes on the wire as JSON (an upper bound for its stored size in UTF-16, too). */
export const entityBytes = (entity: object): number => 2 * Buffer.byteLength(JSON.stringify(entity));

/**
 * Entities in batches that stay inside both limits, in order. An entity over the entity limit is
 * refused before anything is written, with `describe` naming it.
 */
export function batches<T extends object>(entities: readonly T[], describe: (entity: T) => string): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = BATCH_OVERHEAD_BYTES;
  for (const entity of entities) {
    const size = entityBytes(entity);
    if (size > ENTITY_MAX_BYTES) {
      throw new Error(`${describe(entity)} is larger than Table Storage's 1 MiB entity limit.`);
    }
    const cost = size + OPERATION_OVERHEAD_BYTES;
    if (current.length === TRANSACTION_LIMIT || (current.length > 0 && bytes + cost > BATCH_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = BATCH_OVERHEAD_BYTES;
    }
    current.push(entity);
    bytes += cost;
  }
  if (current.length > 0) out.push(current);
  return out;
}
