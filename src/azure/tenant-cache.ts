/**
 * Remembers what tenant resolution learnt (subscription -> tenant, tenant -> name), including
 * "nobody knows", for a while. The in-memory cache lives as long as the process.
 */
export interface TenantCache {
  get(key: string): Promise<{ value: string | null } | undefined>;
  set(key: string, value: string | null): Promise<void>;
}

export class MemoryTenantCache implements TenantCache {
  private readonly entries = new Map<string, { value: string | null; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<{ value: string | null } | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return { value: entry.value };
  }

  async set(key: string, value: string | null): Promise<void> {
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }
}
