export interface WindowRef {
  shard: number;
  tenantId: string;
  windowStartMs: number;
  customerId: string;
}

/**
 * Every Redis key and channel of the service lives in this file, so that a key's shape
 * changes in one place and its golden test (redis-keys.spec.ts) says so: a changed shape
 * strands what a running deployment holds under the old one.
 */

/**
 * The keys of the window store. Each key carries the hash tag `{shard}` so that all
 * an event touches lives in one Redis Cluster slot; the customer id comes last in a
 * window key because it is the only part that may itself contain ':'.
 */
export class WindowKeys {
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
   * The window's dedup bucket 0 (a hash; see src/window-store/ingest.lua.ts), which also
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

/**
 * The keys of the limiter. One hash per customer (all its metrics and periods) and one
 * per API key, so a reset is one DEL. A quota check touches both in one script; their
 * tags differ, so on Redis Cluster it would need a shared tag (docs/quotas.md). The
 * customer id comes last inside the tag: the key stays unique whatever it contains.
 */
export class QuotaKeys {
  constructor(private readonly prefix: string) {}

  customer(tenantId: string, customerId: string): string {
    return `${this.prefix}{q:${tenantId}:${customerId}}`;
  }

  apiKey(keyId: string): string {
    return `${this.prefix}{k:${keyId}}`;
  }

  /** Pub/Sub channel: a tenant's quota definitions changed (the message is its id). */
  get definitionsChannel(): string {
    return `${this.prefix}quota-definitions`;
  }
}

/** The bucket field a rule keeps its counters under, e.g. `calls:60s`. */
export function ruleField(name: string, periodSeconds: number): string {
  return `${name}:${periodSeconds}s`;
}

/**
 * The Redis keys and channel of analytics. A tenant's keys share the hash tag
 * `{a:<tenant>}`, so its versions and cached answers live in one Cluster slot.
 */
export class AnalyticsKeys {
  constructor(private readonly prefix: string) {}

  /** Hash: UTC day number → the version token of that day of the tenant's windows. */
  versions(tenantId: string): string {
    return `${this.prefix}{a:${tenantId}}:versions`;
  }

  /** A cached answer; its name carries the digest of the versions it was computed at. */
  answer(tenantId: string, queryDigest: string, versionDigest: string): string {
    return `${this.prefix}{a:${tenantId}}:answer:${queryDigest}:${versionDigest}`;
  }

  /** Sorted set of the tenant's recently asked hot queries, scored by when (ms). */
  hot(tenantId: string): string {
    return `${this.prefix}{a:${tenantId}}:hot`;
  }

  /** Version changes, for other instances' local caches. */
  get channel(): string {
    return `${this.prefix}analytics-versions`;
  }
}

/**
 * The live module's own Redis keys, one family per tenant. Each is used on its own (no
 * command or script touches two), so none needs a hash tag on Redis Cluster.
 */
export class LiveKeys {
  constructor(private readonly prefix: string) {}

  /** Stream: the tenant's recent events, read for Last-Event-ID resumes. */
  history(tenantId: string): string {
    return `${this.prefix}live:${tenantId}:history`;
  }

  /** Pub/Sub channel: each appended batch, with its ids, for the instances that serve streams. */
  channel(tenantId: string): string {
    return `${this.prefix}live:${tenantId}:updates`;
  }

  /** Present while some instance serves a stream of the tenant (and for the history's span after). */
  watched(tenantId: string): string {
    return `${this.prefix}live:${tenantId}:watched`;
  }

  /** Sorted set of the tenant's open streams on every instance, scored by lease expiry. */
  streams(tenantId: string): string {
    return `${this.prefix}live:${tenantId}:streams`;
  }

  /** Held for LIVE_COALESCE_MS by the instance that sends a customer's usage.updated. */
  usageTurn(tenantId: string, customerId: string): string {
    return `${this.prefix}live:${tenantId}:turn:${customerId}`;
  }
}

/** Single-use stream tickets: a ticket's id is claimed once (SET NX) before it expires. */
export class TicketKeys {
  constructor(private readonly prefix: string) {}

  claimed(ticketId: string): string {
    return `${this.prefix}ticket:${ticketId}`;
  }
}
