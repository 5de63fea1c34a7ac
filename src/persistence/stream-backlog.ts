import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WindowKeys } from '../infra/redis/redis-keys';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../infra/metrics/metrics';
import { CONSUMER_GROUP } from './persistence-worker';

const POLL_MS = 500;

/**
 * Events accepted but not yet in Postgres, summed over the shard streams (entries are
 * deleted once persisted). Polled, so the ingest path reads a number, not Redis. The same
 * poll reads the persistence group's lag and pending entries for /metrics.
 */
@Injectable()
export class StreamBacklog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamBacklog.name);
  private entries = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly layout: WindowKeys,
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
        const stream = this.layout.stream(shard);
        pipeline.xlen(stream).xinfo('GROUPS', stream);
      }
      const replies = (await pipeline.exec()) ?? [];
      let entries = 0;
      let lag = 0;
      let pending = 0;
      for (let shard = 0; shard < this.config.shards; shard++) {
        const [error, length] = replies[2 * shard] as [Error | null, number];
        if (error) throw error;
        // XINFO fails on a stream no worker has created yet: no group, nothing read.
        const [, groups] = replies[2 * shard + 1];
        const group = persistGroup(groups);
        entries += length;
        pending += group?.pending ?? 0;
        // Redis cannot always tell the lag (null); read entries are acknowledged and
        // deleted, so the stream holds exactly the pending and the unread ones.
        lag += group?.lag ?? length - (group?.pending ?? 0);
      }
      this.entries = entries;
      this.metrics.backlog.set(entries);
      this.metrics.consumerLag.set(lag);
      this.metrics.consumerPending.set(pending);
    } catch (error) {
      this.logger.warn(`backlog poll failed: ${(error as Error).message}`);
    }
    return this.entries;
  }
}

/** The persistence group in an XINFO GROUPS reply (field/value lists), if there. */
function persistGroup(groups: unknown): { pending: number; lag: number | null } | undefined {
  if (!Array.isArray(groups)) return undefined;
  for (const fields of groups as unknown[][]) {
    const info = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
    if (info.get('name') !== CONSUMER_GROUP) continue;
    const lag = info.get('lag');
    return { pending: Number(info.get('pending')), lag: typeof lag === 'number' ? lag : null };
  }
  return undefined;
}
