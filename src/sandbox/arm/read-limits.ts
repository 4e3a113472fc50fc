/**
 * Azure Resource Manager's read limits: a token bucket per region since 2024, 250 reads in the
 * bucket, refilled at 25 a second, kept per subscription and per principal (tenant-level reads the
 * same, per principal) (learn.microsoft.com/azure/azure-resource-manager/management/
 * request-limits-and-throttling, "Subscription and tenant limits"). A read with the bucket empty is
 * refused with 429 and `Retry-After`; each answer tells the reads left in
 * `x-ms-ratelimit-remaining-subscription-reads` (or `-tenant-reads`).
 */
export const ARM_READ_BUCKET = 250;

/** ARM's answer to a read refused under these limits: 429, its error, and when to try again. */
export function readThrottled(retryAfterSeconds: number) {
  const message = "The request is being throttled as the limit has been reached for operation type - Read.";
  return {
    status: 429,
    body: { error: { code: "TooManyRequests", message } },
    headers: { "retry-after": String(retryAfterSeconds) },
  };
}
export const ARM_READ_REFILL_PER_SECOND = 25;

export class ArmReadLimits {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity = ARM_READ_BUCKET,
    private readonly refillPerSecond = ARM_READ_REFILL_PER_SECOND,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes one read from the bucket of `scope` (a subscription id, or "tenant") and `principal`:
   * the reads left, or the seconds to wait when none is.
   */
  take(scope: string, principal: string): { remaining: number } | { retryAfterSeconds: number } {
    const key = `${scope.toLowerCase()}|${principal}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(
      this.capacity,
      bucket.tokens + ((now - bucket.at) / 1000) * this.refillPerSecond,
    );
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1)
      return { retryAfterSeconds: Math.ceil((1 - bucket.tokens) / this.refillPerSecond) };
    bucket.tokens -= 1;
    return { remaining: Math.floor(bucket.tokens) };
  }
}
