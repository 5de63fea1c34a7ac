import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WindowKeys } from '../infra/redis/redis-keys';
import { shardOf } from '../window-store/shard';
import { countersFromHash } from '../window-store/window-hash';
import { windowEndOf } from '../window-store/window-math';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import type { WindowContent } from './usage-cells';

/** A window with counts in Redis that may not be in Postgres yet. */
export interface OpenWindow {
  customerId: string;
  windowStartMs: number;
  windowEndMs: number;
  /** The hash revision: Postgres holds the whole window once its flushed_rev reaches it. */
  rev: number;
  content: WindowContent;
}

export interface OpenWindowsRead {
  /** Redis time of the read. */
  nowMs: number;
  windows: OpenWindow[];
}

/**
 * Members of a shard's open index scored within [ARGV[1], ARGV[2]] whose key starts with
 * ARGV[3]: one tenant's open windows, picked out inside Redis so that other tenants'
 * keys never cross the network. KEYS[1]: the open index.
 */
const TENANT_OPEN_LUA = `
local found = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2])) do
  if string.sub(key, 1, #ARGV[3]) == ARGV[3] then found[#found + 1] = key end
end
return found
`;

type TenantOpenCommand = (key: string, min: string, max: string, prefix: string) => unknown;

/**
 * The one place analytics reads the window store in Redis: the open index and window
 * hashes through WindowKeys and countersFromHash, as the closer does. When the window
 * store gets its own module, this file is what moves onto it.
 */
@Injectable()
export class OpenWindows {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: WindowKeys,
  ) {
    redis.defineCommand('tallyTenantOpenWindows', { numberOfKeys: 1, lua: TENANT_OPEN_LUA });
  }

  /**
   * The tenant's open windows starting in [fromMs, toMs) (all of them by default), of the
   * given customers only when named: their shards alone are asked.
   */
  async read(
    tenantId: string,
    { fromMs = -Infinity, toMs = Infinity, customerIds = null }: ReadOptions = {},
  ): Promise<OpenWindowsRead> {
    const windowMs = this.config.window.ms;
    const shards = customerIds
      ? [...new Set(customerIds.map((c) => shardOf(tenantId, c, this.config.shards)))]
      : Array.from({ length: this.config.shards }, (_, shard) => shard);
    // Scores are window ends: a window starts in [from, to) when it ends in [from + w, to + w).
    const min = fromMs === -Infinity ? '-inf' : String(fromMs + windowMs);
    const max = toMs === Infinity ? '+inf' : `(${toMs + windowMs}`;
    // One write for every shard and the clock.
    const ask = this.redis.pipeline().time();
    const scripts = ask as unknown as Record<string, TenantOpenCommand>;
    for (const shard of shards) {
      const args = [this.layout.openIndex(shard), min, max, this.prefixOf(shard, tenantId)];
      scripts.tallyTenantOpenWindows.call(ask, ...(args as Parameters<TenantOpenCommand>));
    }
    const [[seconds, micros], ...found] = (await execAll(ask)) as [[string, string], ...string[][]];
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const wanted = customerIds && new Set(customerIds);
    const keys = found
      .flat()
      .filter((key) => !wanted || wanted.has(this.layout.parseWindowKey(key).customerId));
    const pipeline = this.redis.pipeline();
    keys.forEach((key) => pipeline.hgetall(key));
    const hashes = keys.length > 0 ? ((await execAll(pipeline)) as Record<string, string>[]) : [];
    const windows: OpenWindow[] = [];
    hashes.forEach((hash, i) => {
      // Gone between the two reads: flushed and expired, Postgres has it.
      if (Object.keys(hash).length === 0) return;
      const ref = this.layout.parseWindowKey(keys[i]);
      const counters = countersFromHash(hash);
      windows.push({
        customerId: ref.customerId,
        windowStartMs: ref.windowStartMs,
        windowEndMs: windowEndOf(ref.windowStartMs, windowMs),
        rev: counters.rev,
        content: {
          measures: {
            calls: counters.calls,
            tokens: counters.tokens,
            inputTokens: counters.inputTokens,
            outputTokens: counters.outputTokens,
            latencySumMs: counters.latencySumMs,
            latencyCount: counters.latencyCount,
            lateEvents: counters.lateEvents,
          },
          data: counters.data,
        },
      });
    });
    return { nowMs, windows };
  }

  /** Redis time, the clock the closer judges windows due by. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** What every window key of the tenant in the shard starts with, as the layout writes it. */
  private prefixOf(shard: number, tenantId: string): string {
    const probe = this.layout.windowKey({ shard, tenantId, windowStartMs: 0, customerId: '' });
    return probe.slice(0, probe.length - '0:'.length);
  }
}

export interface ReadOptions {
  fromMs?: number;
  toMs?: number;
  customerIds?: string[] | null;
}
