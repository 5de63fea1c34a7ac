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
