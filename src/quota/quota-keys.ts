/**
 * Redis keys of the limiter. One hash per customer (all its metrics and periods) and one
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
}

/** The bucket field a rule keeps its counters under, e.g. `calls:60s`. */
export function ruleField(name: string, periodSeconds: number): string {
  return `${name}:${periodSeconds}s`;
}
