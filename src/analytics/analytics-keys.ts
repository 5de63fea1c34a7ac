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
