import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { QuotaKeys } from '../infra/redis/redis-keys';
import { QUOTA_CHANGES_REDIS, REDIS } from '../infra/redis/redis.tokens';
import { staySubscribed } from '../infra/redis/stay-subscribed';

type Listener = (tenantId: string | null) => void;

/**
 * Tells every instance that a tenant's quota definitions changed, so each drops its
 * snapshot at once instead of serving the old one until it expires. Pub/sub delivers at
 * most once: a message lost while an instance is disconnected is covered by dropping
 * every snapshot on reconnect, and in any case by QUOTA_CACHE_SECONDS.
 */
@Injectable()
export class DefinitionChanges implements OnModuleInit {
  private readonly logger = new Logger(DefinitionChanges.name);
  private readonly channel: string;
  private readonly listeners: Listener[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QUOTA_CHANGES_REDIS) private readonly subscriber: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channel = new QuotaKeys(config.redisKeyPrefix).definitionsChannel;
  }

  /** `tenantId` null: anything may have changed (a reconnect). */
  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    this.subscriber.on('message', (channel: string, tenantId: string) => {
      if (channel === this.channel) this.notify(tenantId);
    });
    // What was said while disconnected is lost: after a reconnect, anything may have changed.
    await staySubscribed(this.subscriber, this.channel, () => this.notify(null));
  }

  /** After the change has committed. A failure only delays other instances until expiry. */
  async announce(tenantId: string): Promise<void> {
    this.notify(tenantId);
    try {
      await this.redis.publish(this.channel, tenantId);
    } catch (error) {
      this.logger.warn(
        `could not announce a quota change of tenant ${tenantId}; other instances ` +
          `see it when their snapshot expires: ${(error as Error).message}`,
      );
    }
  }

  private notify(tenantId: string | null): void {
    for (const listener of this.listeners) listener(tenantId);
  }
}
