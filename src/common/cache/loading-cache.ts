import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock';
import { DomainError, ErrorCode } from '../errors/domain-error';

interface Loaded<V> {
  value: V;
  /** When the source last answered for this value: what the staleness bound is measured from. */
  loadedAtMs: number;
  /** Served because a reload found the source unavailable. */
  fallback: boolean;
}

type Load<V> = () => Promise<V>;

export interface LoadingCacheOptions {
  /** How long a loaded value is served without asking the source again; 0 keeps nothing. */
  freshMs: number;
  /**
   * How old a value may grow while the source is unavailable (its loads fail with
   * ErrorCode.Unavailable) and still be served; 0 serves nothing stale.
   */
  staleMs: number;
  clock: Clock;
  maxEntries?: number;
}

/**
 * Loaded values, bounded (least recently used goes first) and kept for `freshMs`; lru-cache
 * does the bookkeeping. Callers that miss together share one load; a failed load is not
 * kept. When a reload fails because the source is unavailable, the last value is served
 * instead, until it is `staleMs` old, and the reload is tried again every `freshMs`
 * (in the background, so requests do not each wait for a failing source). A value older
 * than that, or one never loaded, fails with the source's error.
 */
export class LoadingCache<V> {
  private readonly entries?: LRUCache<string, Loaded<V>, Load<V>>;
  private readonly freshMs: number;
  private readonly staleMs: number;
  private readonly clock: Clock;

  constructor({ freshMs, staleMs, clock, maxEntries = 10_000 }: LoadingCacheOptions) {
    this.freshMs = freshMs;
    this.staleMs = staleMs;
    this.clock = clock;
    // lru-cache reads ttl 0 as "never expires": no cache at all is what 0 means here.
    if (freshMs <= 0) return;
    this.entries = new LRUCache<string, Loaded<V>, Load<V>>({
      max: maxEntries,
      ttl: freshMs,
      // Read the clock on every check: a cached reading would hide a test's clock moves.
      ttlResolution: 0,
      perf: clock,
      // A delete must not cut short the callers waiting on a load: they get its result,
      // and the cache does not keep it (it may predate the change the delete was for).
      ignoreFetchAbort: true,
      fetchMethod: (_key, stale, { options, context }) => this.reload(stale, options, context),
    });
  }

  get(key: string, load: Load<V>): Promise<V> {
    if (!this.entries) return load();
    // A fresh value with no reload under way is what forceFetch would answer; taken
    // without its promises and options objects, it was 4 % of a quota check's
    // allocation (docs/performance.md). Not deleted when stale: it is the fallback.
    const status: LRUCache.Status<string, Loaded<V>, Load<V>> = {};
    const hit = this.entries.get(key, { status, noDeleteOnStaleGet: true });
    if (status.get === 'hit' && hit) return Promise.resolve(hit.value);
    return this.fetch(this.entries, key, load);
  }

  private async fetch(
    entries: LRUCache<string, Loaded<V>, Load<V>>,
    key: string,
    load: Load<V>,
  ): Promise<V> {
    const current = entries.peek(key, { allowStale: true });
    // Once the source is known to be down, a retry must not hold requests up: they get the
    // fallback at once while the retry runs, as long as it is within the bound.
    const allowStale =
      current?.fallback === true && this.clock.now() - current.loadedAtMs < this.staleMs;
    return (await entries.forceFetch(key, { context: load, allowStale })).value;
  }

  /** Forgets the key: the next get loads it, and has nothing to fall back on. */
  delete(key: string): void {
    this.entries?.delete(key);
  }

  clear(): void {
    this.entries?.clear();
  }

  /**
   * The key's value must be loaded again before it is served, but stays the fallback for
   * an unavailable source. A load under way is dropped: it may have read the old state.
   */
  expire(key: string): void {
    const value = this.entries?.peek(key, { allowStale: true });
    this.delete(key);
    if (value) this.entries!.set(key, value, { start: this.dueStart() });
  }

  /** `expire` for every key. */
  expireAll(): void {
    if (!this.entries) return;
    const all = this.entries.dump();
    this.clear();
    const start = this.dueStart();
    for (const [key, { value }] of all) this.entries.set(key, value, { start });
  }

  /** A load time one freshness period ago: an entry set with it is due for a reload. */
  private dueStart(): number {
    return this.clock.now() - this.freshMs - 1;
  }

  private async reload(
    stale: Loaded<V> | undefined,
    options: { ttl?: number },
    load: Load<V>,
  ): Promise<Loaded<V>> {
    try {
      return { value: await load(), loadedAtMs: this.clock.now(), fallback: false };
    } catch (error) {
      const leftMs = stale ? stale.loadedAtMs + this.staleMs - this.clock.now() : 0;
      if (!isUnavailable(error) || leftMs <= 0) throw error;
      // Kept until the next retry, and never past the bound.
      options.ttl = Math.max(1, Math.min(this.freshMs, Math.floor(leftMs)));
      return { ...stale!, fallback: true };
    }
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof DomainError && error.code === ErrorCode.Unavailable;
}
