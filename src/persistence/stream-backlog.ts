import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisLayout } from '../aggregation/redis-layout';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../metrics/metrics';

const POLL_MS = 500;

/**
 * Events accepted but not yet in Postgres, summed over the shard streams (entries are
 * deleted once persisted). Polled, so the ingest path reads a number, not Redis.
 */
@Injectable()
export class StreamBacklog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamBacklog.name);
  private entries = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: RedisLayout,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.refresh(), POLL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Stream entries (each a micro-batch of events) waiting for Postgres. */
  pendingEntries(): number {
    return this.entries;
  }

  isAboveHighWater(): boolean {
    return this.entries > this.config.ingest.streamHighWater;
  }

  async refresh(): Promise<number> {
    try {
      const pipeline = this.redis.pipeline();
      for (let shard = 0; shard < this.config.shards; shard++) {
        pipeline.xlen(this.layout.stream(shard));
      }
      const lengths = (await execAll(pipeline)) as number[];
      this.entries = lengths.reduce((sum, length) => sum + length, 0);
      this.metrics.backlog.set(this.entries);
    } catch (error) {
      this.logger.warn(`backlog poll failed: ${(error as Error).message}`);
    }
    return this.entries;
  }
}
