import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { ANALYTICS_VERSIONS_REDIS, REDIS } from '../infra/redis/redis.tokens';
import { AnalyticsKeys } from '../infra/redis/redis-keys';
import { staySubscribed } from '../infra/redis/stay-subscribed';
import { DAY_MS } from './bucket-plan';

/** A tenant's changed UTC days (day numbers since the epoch); both null: anything may have changed. */
export type VersionListener = (tenantId: string | null, days: number[] | null) => void;

/**
 * Reads the version tokens of days (KEYS[1] the tenant's versions hash; ARGV[1] its
 * lifetime in ms, ARGV[2] the token for a day that has none yet, ARGV[3..] the days). A
 * day without a token gets a fresh random one rather than a counter's next value: a
 * versions hash that expired or was lost must never bring back a token that an old
 * answer is still stored under.
 */
const READ_VERSIONS_LUA = `
local tokens = redis.call('HMGET', KEYS[1], unpack(ARGV, 3))
for i, token in ipairs(tokens) do
  if not token then
    tokens[i] = ARGV[2]
    redis.call('HSET', KEYS[1], ARGV[i + 2], ARGV[2])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return tokens
`;

/**
 * The version of each (tenant, UTC day) of windows. Cached answers are stored under the
 * digest of the versions of the days they cover; a flush or recompute gives the days it
 * changed new tokens right after its commit, so no answer computed before it is found
 * again. Version changes are also published, for the local caches of every instance.
 */
@Injectable()
export class UsageVersions implements OnModuleInit {
  private readonly logger = new Logger(UsageVersions.name);
  private readonly readVersions: ScriptCommand<string[]>;
  private readonly listeners: VersionListener[] = [];
  private readonly keys: AnalyticsKeys;
  private readonly ttlMs: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ANALYTICS_VERSIONS_REDIS) private readonly subscriber: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new AnalyticsKeys(config.redisKeyPrefix);
    this.ttlMs = config.analytics.cacheTtlMs;
    this.readVersions = defineScript(redis, 'tallyReadVersions', READ_VERSIONS_LUA);
  }

  onChange(listener: VersionListener): void {
    this.listeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      const { t, d } = JSON.parse(message) as { t: string; d: number[] };
      this.notify(t, d);
    });
    // Subscribing takes the connection over for good. What was published while it was
    // down is lost, so a reconnect means "anything".
    await staySubscribed(this.subscriber, this.keys.channel, () => this.notify(null, null));
  }

  /** The digest of the days' current versions; throws when Redis cannot be asked. */
  async digest(tenantId: string, days: number[]): Promise<string> {
    const tokens = await this.readVersions(
      1,
      this.keys.versions(tenantId),
      this.ttlMs,
      token(),
      ...days,
    );
    return createHash('sha1').update(tokens.join(',')).digest('base64url');
  }

  /** New versions for the changed days of each tenant, then the news to every instance. */
  async bump(changes: Map<string, Set<number>>): Promise<void> {
    if (changes.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [tenantId, days] of changes) {
      const fresh = token();
      const key = this.keys.versions(tenantId);
      pipeline.hset(key, ...[...days].flatMap((day) => [day, fresh]));
      pipeline.pexpire(key, this.ttlMs);
      pipeline.publish(this.keys.channel, JSON.stringify({ t: tenantId, d: [...days] }));
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0]!;
    for (const [tenantId, days] of changes) this.notify(tenantId, [...days]);
  }

  private notify(tenantId: string | null, days: number[] | null): void {
    for (const listener of this.listeners) {
      try {
        listener(tenantId, days);
      } catch (error) {
        this.logger.warn(`version listener failed: ${(error as Error).message}`);
      }
    }
  }
}

/** The UTC day numbers (since the epoch) that [fromMs, toMs) touches. */
export function daysOf(fromMs: number, toMs: number): number[] {
  const days: number[] = [];
  for (let day = Math.floor(fromMs / DAY_MS); day * DAY_MS < toMs; day++) days.push(day);
  return days;
}

function token(): string {
  return randomBytes(9).toString('base64url');
}
