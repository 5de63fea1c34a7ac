import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { WindowKeys } from '../infra/redis/redis-keys';
import { REDIS } from '../infra/redis/redis.tokens';
import { shardOf } from './shard';
import { countersFromHash, type WindowCounters } from './window-hash';
import { windowEndOf } from './window-math';

/** A customer's window, by its start. */
export interface CustomerWindow {
  tenantId: string;
  customerId: string;
  windowStartMs: number;
}

/** A window with counts in Redis that may not be in Postgres yet. */
export interface OpenWindowCounters {
  customerId: string;
  windowStartMs: number;
  windowEndMs: number;
  counters: WindowCounters;
}

export interface TenantOpenRead {
  /** Redis time of the read. */
  nowMs: number;
  windows: OpenWindowCounters[];
}

export interface TenantOpenOptions {
  fromMs?: number;
  toMs?: number;
  customerIds?: string[] | null;
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

/** Reads of window counters still in Redis: the live feed's and analytics' way in. */
@Injectable()
export class WindowReads {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: WindowKeys,
  ) {
    // Sent in a pipeline with other shards' calls, so defined here and not bound.
    redis.defineCommand('tallyTenantOpenWindows', { numberOfKeys: 1, lua: TENANT_OPEN_LUA });
  }

  /** Redis time, the clock the closer judges windows due by. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** The running counters of each window, in order; null where its hash is gone (expired). */
  async counters(windows: CustomerWindow[]): Promise<(WindowCounters | null)[]> {
    if (windows.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const w of windows) {
      const shard = shardOf(w.tenantId, w.customerId, this.config.shards);
      pipeline.hgetall(this.keys.windowKey({ ...w, shard }));
    }
    const hashes = (await execAll(pipeline)) as Record<string, string>[];
    return hashes.map((hash) => (Object.keys(hash).length === 0 ? null : countersFromHash(hash)));
  }

  /**
   * The tenant's open windows starting in [fromMs, toMs) (all of them by default), of the
   * given customers only when named: their shards alone are asked.
   */
  async tenantOpen(
    tenantId: string,
    { fromMs = -Infinity, toMs = Infinity, customerIds = null }: TenantOpenOptions = {},
  ): Promise<TenantOpenRead> {
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
      const args = [this.keys.openIndex(shard), min, max, this.prefixOf(shard, tenantId)];
      scripts.tallyTenantOpenWindows.call(ask, ...(args as Parameters<TenantOpenCommand>));
    }
    const [[seconds, micros], ...found] = (await execAll(ask)) as [[string, string], ...string[][]];
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const wanted = customerIds && new Set(customerIds);
    const keys = found
      .flat()
      .filter((key) => !wanted || wanted.has(this.keys.parseWindowKey(key).customerId));
    const pipeline = this.redis.pipeline();
    keys.forEach((key) => pipeline.hgetall(key));
    const hashes = keys.length > 0 ? ((await execAll(pipeline)) as Record<string, string>[]) : [];
    const windows: OpenWindowCounters[] = [];
    hashes.forEach((hash, i) => {
      // Gone between the two reads: flushed and expired, Postgres has it.
      if (Object.keys(hash).length === 0) return;
      const ref = this.keys.parseWindowKey(keys[i]);
      windows.push({
        customerId: ref.customerId,
        windowStartMs: ref.windowStartMs,
        windowEndMs: windowEndOf(ref.windowStartMs, windowMs),
        counters: countersFromHash(hash),
      });
    });
    return { nowMs, windows };
  }

  /** What every window key of the tenant in the shard starts with, as the layout writes it. */
  private prefixOf(shard: number, tenantId: string): string {
    const probe = this.keys.windowKey({ shard, tenantId, windowStartMs: 0, customerId: '' });
    return probe.slice(0, probe.length - '0:'.length);
  }
}
