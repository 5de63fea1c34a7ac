import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS } from '../infra/redis/redis.tokens';
import { AnalyticsKeys } from '../infra/redis/redis-keys';
import type { RenderedAnswer } from './http-caching';
import type { Cell } from './usage-cells';
import { UsageVersions } from './usage-versions';
import type { StoredWindow, WindowKey } from './usage.repository';

/** What Postgres answered for a query, cached: the sums and what the live merge needs. */
export interface StoredPart {
  cells: Cell[];
  /** The windows that were open in Redis at the read, with their rows in the same snapshot (null: none). */
  pinned: (WindowKey & { row: StoredWindow | null })[];
  /** Redis time after the read: a window due only later cannot be in it. null: Redis was unreachable. */
  settledAtMs: number | null;
  /** When it was read (this instance's clock). */
  readAtMs: number;
}

interface LocalEntry {
  /** null: read while Redis was unreachable, its version unknown. */
  versionDigest: string | null;
  days: number[];
  part: StoredPart;
  /** Answers rendered from this part with no window of their range open, by their shape. */
  rendered: Map<string, RenderedAnswer>;
}

export type CacheHit = 'local' | 'redis';

/**
 * Stored parts of answers: in Redis under keys that carry their versions' digest (shared by
 * every instance, ANALYTICS_CACHE_TTL_SECONDS), and in a small LRU per instance
 * (`lru-cache`). While Redis answers, a local entry counts only if its version digest is
 * the current one; when Redis cannot be asked, a local entry younger than
 * ANALYTICS_LOCAL_CACHE_SECONDS is served as it is. Version changes dropped on any
 * instance drop the local entries of those days everywhere (UsageVersions' Pub/Sub).
 * A local entry also keeps answers rendered from its part (UsageEngine.rendered); they go
 * with it, and are local only: rendering one from a part costs an instance once a version.
 */
@Injectable()
export class UsageCache {
  private readonly keys: AnalyticsKeys;
  private readonly local: LRUCache<string, LocalEntry> | null;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    versions: UsageVersions,
  ) {
    this.keys = new AnalyticsKeys(config.redisKeyPrefix);
    const { localEntries, localTtlMs } = config.analytics;
    this.local =
      localEntries > 0
        ? new LRUCache<string, LocalEntry>({ max: localEntries, ttl: localTtlMs })
        : null;
    versions.onChange((tenantId, days) => this.drop(tenantId, days));
  }

  /** The part stored under the current versions; Redis failing counts as a miss. */
  async get(
    tenantId: string,
    queryDigest: string,
    versionDigest: string,
    days: number[],
  ): Promise<{ part: StoredPart; hit: CacheHit } | null> {
    const local = this.local?.get(localKey(tenantId, queryDigest));
    if (local?.versionDigest === versionDigest) return { part: local.part, hit: 'local' };
    const text = await this.redis
      .get(this.keys.answer(tenantId, queryDigest, versionDigest))
      .catch(() => null);
    if (text === null) return null;
    const part = JSON.parse(text) as StoredPart;
    this.keepLocal(tenantId, queryDigest, versionDigest, days, part);
    return { part, hit: 'redis' };
  }

  /** An answer rendered from the part this instance holds under these versions. */
  rendered(
    tenantId: string,
    queryDigest: string,
    versionDigest: string,
    shape: string,
  ): RenderedAnswer | undefined {
    const local = this.local?.get(localKey(tenantId, queryDigest));
    return local?.versionDigest === versionDigest ? local.rendered.get(shape) : undefined;
  }

  /** Keeps an answer beside its part, unless the part under these versions is gone. */
  keepRendered(
    tenantId: string,
    queryDigest: string,
    versionDigest: string,
    shape: string,
    answer: RenderedAnswer,
  ): void {
    const local = this.local?.get(localKey(tenantId, queryDigest));
    if (local?.versionDigest === versionDigest) local.rendered.set(shape, answer);
  }

  /** With Redis unreachable: what this instance read lately, whatever its version. */
  recent(tenantId: string, queryDigest: string): StoredPart | null {
    return this.local?.get(localKey(tenantId, queryDigest))?.part ?? null;
  }

  /** Keeps a part under its versions (null: unknown, local only); a Redis failure is ignored. */
  async set(
    tenantId: string,
    queryDigest: string,
    versionDigest: string | null,
    days: number[],
    part: StoredPart,
  ): Promise<void> {
    this.keepLocal(tenantId, queryDigest, versionDigest, days, part);
    if (versionDigest === null) return;
    await this.redis
      .set(
        this.keys.answer(tenantId, queryDigest, versionDigest),
        JSON.stringify(part),
        'PX',
        this.config.analytics.cacheTtlMs,
      )
      .catch(() => undefined);
  }

  private keepLocal(
    tenantId: string,
    queryDigest: string,
    versionDigest: string | null,
    days: number[],
    part: StoredPart,
  ): void {
    this.local?.set(localKey(tenantId, queryDigest), {
      versionDigest,
      days,
      part,
      rendered: new Map(),
    });
  }

  /** Drops local entries covering any of the days of the tenant (all of them on null). */
  private drop(tenantId: string | null, days: number[] | null): void {
    if (!this.local) return;
    if (tenantId === null) {
      this.local.clear();
      return;
    }
    const changed = days && new Set(days);
    for (const [key, entry] of this.local.entries()) {
      if (!key.startsWith(`${tenantId}\u0000`)) continue;
      if (!changed || entry.days.some((d) => changed.has(d))) {
        this.local.delete(key);
      }
    }
  }
}

function localKey(tenantId: string, queryDigest: string): string {
  return `${tenantId}\u0000${queryDigest}`;
}
