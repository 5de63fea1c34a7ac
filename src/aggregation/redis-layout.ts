export interface WindowRef {
  shard: number;
  tenantId: string;
  windowStartMs: number;
  customerId: string;
}

/**
 * Every Redis key of the engine. Each key carries the hash tag `{shard}` so that all
 * an event touches lives in one Redis Cluster slot; the customer id comes last in a
 * window key because it is the only part that may itself contain ':'.
 */
export class RedisLayout {
  constructor(
    readonly prefix: string,
    readonly shards: number,
  ) {}

  private tag(shard: number): string {
    return `${this.prefix}{${shard}}`;
  }

  windowKey(ref: WindowRef): string {
    return `${this.tag(ref.shard)}:w:${ref.tenantId}:${ref.windowStartMs}:${ref.customerId}`;
  }

  /**
   * The window's dedup bucket 0 (a hash; see src/ingestion/ingest.lua.ts), which also
   * counts the members; bucket i > 0 is this key followed by `:i`.
   */
  dedupKey(ref: WindowRef): string {
    return `${this.tag(ref.shard)}:dd:${ref.tenantId}:${ref.windowStartMs}:${ref.customerId}`;
  }

  /**
   * The window's dedup set as written before `dedupKey` (one SET member per eventId).
   * The ingest script still reads it while it exists, so that an upgrade in the middle
   * of a window does not forget the events seen before it; nothing writes it any more.
   */
  legacyDedupKey(ref: WindowRef): string {
    return `${this.tag(ref.shard)}:d:${ref.tenantId}:${ref.windowStartMs}:${ref.customerId}`;
  }

  /** Sorted set of windows with unflushed counts, scored by window end (ms). */
  openIndex(shard: number): string {
    return `${this.tag(shard)}:open`;
  }

  /** Sorted set of windows whose totals must be recomputed from Postgres raw events. */
  recomputeIndex(shard: number): string {
    return `${this.tag(shard)}:recompute`;
  }

  /** Stream of accepted events on their way to Postgres. */
  stream(shard: number): string {
    return `${this.tag(shard)}:events`;
  }

  closerLock(shard: number): string {
    return `${this.tag(shard)}:lock:closer`;
  }

  /**
   * The epoch marker: which life of this Redis's data the keys belong to. Never expires,
   * so only a loss of the data (or of this key with it) makes it go.
   */
  epochMarker(): string {
    return `${this.prefix}epoch`;
  }

  /** Held by the one instance recomputing windows after a Redis data loss. */
  recoveryLock(): string {
    return `${this.prefix}lock:recovery`;
  }

  parseWindowKey(key: string): WindowRef {
    const match = /^\{(\d+)\}:w:([^:]+):(\d+):(.+)$/s.exec(key.slice(this.prefix.length));
    if (!key.startsWith(this.prefix) || !match) {
      throw new Error(`not a window key: ${key}`);
    }
    return {
      shard: Number(match[1]),
      tenantId: match[2],
      windowStartMs: Number(match[3]),
      customerId: match[4],
    };
  }
}
