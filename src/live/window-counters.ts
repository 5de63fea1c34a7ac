import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WindowKeys } from '../infra/redis/redis-keys';
import { shardOf } from '../window-store/shard';
import { countersFromHash } from '../window-store/window-hash';
import { windowStartOf } from '../window-store/window-math';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import type { UsageWindow } from './live-event';

export interface CustomerWindow {
  tenantId: string;
  customerId: string;
  windowStartMs: number;
}

/**
 * The live module's one reader of the Redis window store: its key layout and hash fields
 * are the aggregation module's (redis-layout.ts, window-hash.ts), and nothing else in
 * src/live knows them. When the window store gets its own module, this file is what
 * moves onto it.
 */
@Injectable()
export class WindowCounters {
  private readonly layout: WindowKeys;
  private readonly windowMs: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // The aggregation module provides the same object, but importing that module here would
    // close a cycle: it publishes through this one.
    this.layout = new WindowKeys(config.redisKeyPrefix, config.shards);
    this.windowMs = config.window.ms;
  }

  windowStartOf(timestampMs: number): number {
    return windowStartOf(timestampMs, this.windowMs);
  }

  /** The running totals of each window, in order; null where its hash is gone (expired). */
  async read(windows: CustomerWindow[]): Promise<(UsageWindow | null)[]> {
    if (windows.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const w of windows) {
      const shard = shardOf(w.tenantId, w.customerId, this.config.shards);
      pipeline.hgetall(this.layout.windowKey({ ...w, shard }));
    }
    const hashes = (await execAll(pipeline)) as Record<string, string>[];
    return hashes.map((hash, i) => {
      if (Object.keys(hash).length === 0) return null;
      const c = countersFromHash(hash);
      const start = windows[i].windowStartMs;
      return {
        windowStart: new Date(start).toISOString(),
        windowEnd: new Date(start + this.windowMs).toISOString(),
        calls: c.calls,
        tokens: c.tokens,
        inputTokens: c.inputTokens,
        outputTokens: c.outputTokens,
        // Rounded as the flush rounds it (windows.sql.ts), so both events agree.
        avgLatencyMs:
          c.latencyCount > 0 ? Math.round((c.latencySumMs / c.latencyCount) * 100) / 100 : null,
        lateEvents: c.lateEvents,
      };
    });
  }
}
