import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS } from '../infra/redis/redis.tokens';
import { AnalyticsKeys } from '../infra/redis/redis-keys';

export type HotQuery = { kind: 'daily'; params: DailyParams } | { kind: 'top'; params: TopParams };

export interface DailyParams {
  timezone: string;
}

export interface TopParams {
  limit: number;
  hours: number;
  by: 'calls' | 'tokens';
  dimension: 'customer' | 'endpoint' | 'model';
}

const KEEP = 16;
const RECENT_MS = 3_600_000;

/**
 * The `daily` and `top` queries each tenant asked lately, kept in Redis so that whichever
 * instance flushes the tenant's windows can pre-warm them: the pre-warmer recomputes what
 * dashboards actually ask, not a guess.
 */
@Injectable()
export class HotQueries {
  private readonly keys: AnalyticsKeys;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new AnalyticsKeys(config.redisKeyPrefix);
  }

  /** Best effort: a query not remembered is only not pre-warmed. */
  async note(tenantId: string, query: HotQuery, nowMs: number): Promise<void> {
    const key = this.keys.hot(tenantId);
    await this.redis
      .multi()
      .zadd(key, nowMs, JSON.stringify(query))
      .zremrangebyrank(key, 0, -(KEEP + 1))
      .pexpire(key, RECENT_MS)
      .exec()
      .catch(() => undefined);
  }

  async recent(tenantId: string, nowMs: number): Promise<HotQuery[]> {
    const found = await this.redis.zrangebyscore(
      this.keys.hot(tenantId),
      nowMs - RECENT_MS,
      '+inf',
    );
    return found.map((text) => JSON.parse(text) as HotQuery);
  }
}
