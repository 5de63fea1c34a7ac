import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisLayout } from '../aggregation/redis-layout';
import { APP_CONFIG, type AppConfig, runsJobs } from '../config/app-config';
import { createRedis } from '../infra/redis/redis.module';
import { EventWriter, StreamEntry } from './event-writer';

export const CONSUMER_GROUP = 'persist';
const ERROR_BACKOFF_MS = 1000;

type ReadReply = [stream: string, entries: StreamEntry[]][] | null;

/**
 * Drains the shard streams into Postgres. Entries are acknowledged and deleted only
 * after their transaction commits; entries left pending by a dead consumer are taken
 * over with XAUTOCLAIM once idle for PERSIST_CLAIM_IDLE_MS.
 */
@Injectable()
export class PersistenceWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PersistenceWorker.name);
  private readonly redis: Redis;
  private running = false;
  private loop?: Promise<void>;
  private lastClaimAt = 0;
  /** Shards whose own pending entries must be retried before reading new ones. */
  private readonly retryPending = new Set<number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: RedisLayout,
    private readonly writer: EventWriter,
  ) {
    // Its own connection: a slow batch must not queue behind the ingest path's scripts.
    this.redis = createRedis(config, 'persistence');
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!runsJobs(this.config)) return;
    for (let shard = 0; shard < this.config.shards; shard++) {
      await this.ensureGroup(shard);
      this.retryPending.add(shard);
    }
    this.running = true;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** One pass over every shard; returns how many events were written. Exposed for tests. */
  async drainOnce(): Promise<number> {
    let written = 0;
    if (Date.now() - this.lastClaimAt >= this.config.persistence.claimIdleMs / 2) {
      this.lastClaimAt = Date.now();
      for (let shard = 0; shard < this.config.shards; shard++) {
        written += await this.process(shard, await this.claimIdle(shard));
      }
    }
    for (let shard = 0; shard < this.config.shards; shard++) {
      written += await this.process(shard, await this.read(shard));
    }
    return written;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const written = await this.drainOnce();
        if (written === 0) await sleep(this.config.persistence.idleDelayMs);
      } catch (error) {
        this.logger.warn(`persisting failed, will retry: ${(error as Error).message}`);
        for (let shard = 0; shard < this.config.shards; shard++) this.retryPending.add(shard);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private async read(shard: number): Promise<StreamEntry[]> {
    const ownPending = this.retryPending.has(shard);
    const reply = (await this.redis
      .xreadgroup(
        'GROUP',
        CONSUMER_GROUP,
        this.config.instanceId,
        'COUNT',
        this.config.persistence.readCount,
        'STREAMS',
        this.layout.stream(shard),
        ownPending ? '0' : '>',
      )
      .catch((error: Error) => this.recreateLostGroup(shard, error))) as ReadReply;
    const entries = reply?.[0]?.[1] ?? [];
    if (ownPending && entries.length < this.config.persistence.readCount) {
      this.retryPending.delete(shard);
    }
    return entries;
  }

  private async claimIdle(shard: number): Promise<StreamEntry[]> {
    const [, entries] = (await this.redis.xautoclaim(
      this.layout.stream(shard),
      CONSUMER_GROUP,
      this.config.instanceId,
      this.config.persistence.claimIdleMs,
      '0',
      'COUNT',
      this.config.persistence.readCount,
    )) as [string, StreamEntry[]];
    return entries;
  }

  private async process(shard: number, entries: StreamEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const written = await this.writer.write(shard, entries);
    const ids = entries.map(([id]) => id);
    const stream = this.layout.stream(shard);
    await this.redis
      .multi()
      .xack(stream, CONSUMER_GROUP, ...ids)
      .xdel(stream, ...ids)
      .exec();
    return written;
  }

  /**
   * A Redis restarted without persistence has lost the stream and its group: what it
   * held is gone with it (see docs/consistency.md), but new entries must flow again.
   */
  private async recreateLostGroup(shard: number, error: Error): Promise<null> {
    if (!error.message.startsWith('NOGROUP')) throw error;
    this.logger.error(`consumer group of shard ${shard} was lost; recreating it`);
    await this.ensureGroup(shard);
    return null;
  }

  private async ensureGroup(shard: number): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.layout.stream(shard), CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error as Error).message.includes('BUSYGROUP')) throw error;
    }
  }
}
