import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { REDIS } from '../infra/redis/redis.tokens';
import type { LiveEvent, LiveEventInput } from './live-event';
import { LiveKeys } from '../infra/redis/redis-keys';
import { APPEND_LUA } from './live.lua';

/**
 * Where producers put events for the live stream (the closer's `window.closed`, the usage
 * feed's `usage.updated`, later alerts): appended to the tenant's bounded history and
 * published to every instance in one script call. docs/live.md.
 */
@Injectable()
export class LiveEvents {
  private readonly append: ScriptCommand<string[]>;
  private readonly keys: LiveKeys;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.append = defineScript(redis, 'tallyLiveAppend', APPEND_LUA);
    this.keys = new LiveKeys(config.redisKeyPrefix);
  }

  /** How long an idle tenant's history outlives its last event; past that, a resume resets. */
  get historyTtlMs(): number {
    return this.config.live.historyMs * 2;
  }

  async publish(tenantId: string, inputs: LiveEventInput[]): Promise<LiveEvent[]> {
    if (inputs.length === 0) return [];
    const time = new Date(this.clock.now()).toISOString();
    const payloads = inputs.map((e) =>
      JSON.stringify({ type: e.type, time, customerId: e.customerId, data: e.data }),
    );
    const { historyMaxEvents, historyMs } = this.config.live;
    const ids = await this.append(
      1,
      this.keys.history(tenantId),
      this.keys.channel(tenantId),
      historyMaxEvents,
      historyMs,
      this.historyTtlMs,
      ...payloads,
    );
    return inputs.map((input, i) => ({ ...input, id: ids[i], time }));
  }
}
