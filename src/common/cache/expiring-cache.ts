import type { Clock } from '../clock';

interface Entry<V> {
  value: Promise<V>;
  expiresAtMs: number;
}

/**
 * Loaded values kept for a fixed time. Callers that miss together share one load, so a
 * burst of calls for a cold key costs one query; a failed load is not kept. Past
 * `maxEntries` the oldest entry goes first.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry && entry.expiresAtMs > now) return entry.value;
    const value = load();
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, expiresAtMs: now + this.ttlMs });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  deleteWhere(matches: (key: string) => boolean): void {
    for (const key of this.entries.keys()) if (matches(key)) this.entries.delete(key);
  }
}
