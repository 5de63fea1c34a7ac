import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { REDIS } from '../infra/redis/redis.tokens';
import { LiveKeys } from '../infra/redis/redis-keys';
import { TAKE_SLOT_LUA } from './live.lua';

/**
 * LIVE_MAX_STREAMS_PER_TENANT, counted across instances: each open stream holds a lease
 * in the tenant's set, renewed at every heartbeat, so the streams of an instance that
 * died stop counting after three missed heartbeats.
 */
@Injectable()
export class StreamSlots {
  private readonly take: ScriptCommand<number>;
  private readonly keys: LiveKeys;
  private readonly leaseMs: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.take = defineScript(redis, 'tallyLiveTakeSlot', TAKE_SLOT_LUA);
    this.keys = new LiveKeys(config.redisKeyPrefix);
    this.leaseMs = config.live.heartbeatMs * 3;
  }

  async acquire(tenantId: string, member: string): Promise<boolean> {
    const now = this.clock.now();
    const taken = await this.take(
      1,
      this.keys.streams(tenantId),
      now,
      now + this.leaseMs,
      this.config.live.maxStreamsPerTenant,
      member,
      this.leaseMs,
    );
    return taken === 1;
  }

  async release(tenantId: string, member: string): Promise<void> {
    await this.redis.zrem(this.keys.streams(tenantId), member);
  }

  /** Renews the leases of this instance's open streams of a tenant. */
  async renew(tenantId: string, members: string[]): Promise<void> {
    if (members.length === 0) return;
    const expiry = this.clock.now() + this.leaseMs;
    const key = this.keys.streams(tenantId);
    await this.redis
      .pipeline()
      .zadd(key, 'XX', ...members.flatMap((m) => [expiry, m]))
      .pexpire(key, this.leaseMs)
      .exec();
  }
}
