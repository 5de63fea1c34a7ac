import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMarker } from '../aggregation/redis-epoch-marker';
import { WindowKeys } from '../infra/redis/redis-keys';
import { APP_CONFIG, type AppConfig, runsJobs } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { PERSISTENCE_REDIS } from '../infra/redis/redis.tokens';
import { EventWriter, type ShardEntries, type StreamEntry } from './event-writer';

export const CONSUMER_GROUP = 'persist';
const ERROR_BACKOFF_MS = 1000;

type ReadReply = [stream: string, entries: StreamEntry[]][] | null;
type Reply = [error: Error | null, result: unknown];

/**
 * Drains the shard streams into Postgres. Entries are acknowledged and deleted only
 * after their transaction commits; entries left pending by a dead consumer are taken
 * over with XAUTOCLAIM once idle for PERSIST_CLAIM_IDLE_MS.
 */
@Injectable()
export class PersistenceWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PersistenceWorker.name);
  private running = false;
  private loop?: Promise<void>;
  private lastClaimAt = 0;
  /** Shards whose own pending entries must be retried before reading new ones. */
  private readonly retryPending = new Set<number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PERSISTENCE_REDIS) private readonly redis: Redis,
    private readonly layout: WindowKeys,
    private readonly writer: EventWriter,
  ) {}

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
  }

  /**
   * One pass over every shard: the reads (and claims) of all shards in one transaction,
   * every event in one transaction, the acknowledgements in one pipeline. Returns the
   * events written.
   */
  async drainOnce(): Promise<number> {
    const claim = Date.now() - this.lastClaimAt >= this.config.persistence.claimIdleMs / 2;
    if (claim) this.lastClaimAt = Date.now();
    const { batches, epochId } = await this.readAll(claim);
    const nonEmpty = [...batches.values()].filter((b) => b.entries.length > 0);
    if (nonEmpty.length === 0) return 0;
    const written = await this.writer.write(nonEmpty, epochId);
    const pipeline = this.redis.pipeline();
    for (const { shard, entries } of nonEmpty) {
      const ids = entries.map(([id]) => id);
      const stream = this.layout.stream(shard);
      pipeline.xack(stream, CONSUMER_GROUP, ...ids).xdel(stream, ...ids);
    }
    await execAll(pipeline);
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

  /**
   * New entries of every shard, or this consumer's own pending ones after a failure, and
   * with `claim` those idle past PERSIST_CLAIM_IDLE_MS (a dead consumer's). One MULTI
   * with the epoch marker, so the writer knows which Redis epoch the entries came from.
   */
  private async readAll(
    claim: boolean,
  ): Promise<{ batches: Map<number, ShardEntries>; epochId: string }> {
    const { readCount } = this.config.persistence;
    const tx = this.redis.multi();
    for (let shard = 0; shard < this.config.shards; shard++) {
      const id = this.retryPending.has(shard) ? '0' : '>';
      tx.xreadgroup(
        'GROUP',
        CONSUMER_GROUP,
        this.config.instanceId,
        'COUNT',
        readCount,
        'STREAMS',
        this.layout.stream(shard),
        id,
      );
    }
    if (claim) {
      for (let shard = 0; shard < this.config.shards; shard++) {
        tx.xautoclaim(
          this.layout.stream(shard),
          CONSUMER_GROUP,
          this.config.instanceId,
          this.config.persistence.claimIdleMs,
          '0',
          'COUNT',
          readCount,
        );
      }
    }
    tx.get(this.layout.epochMarker());
    const replies = ((await tx.exec()) ?? []) as Reply[];
    const [, marker] = replies.pop()!;
    const reads = replies.slice(0, this.config.shards);
    const batches = new Map<number, ShardEntries>();
    for (const [shard, [error, reply]] of reads.entries()) {
      if (error) {
        await this.recreateLostGroup(shard, error);
        continue;
      }
      const entries = (reply as ReadReply)?.[0]?.[1] ?? [];
      if (this.retryPending.has(shard) && entries.length < readCount) {
        this.retryPending.delete(shard);
      }
      batches.set(shard, { shard, entries });
    }
    this.addClaimed(batches, replies.slice(this.config.shards));
    return { batches, epochId: parseMarker(marker as string | null)?.id ?? '' };
  }

  /** Adds the claimed entries to the batches. */
  private addClaimed(batches: Map<number, ShardEntries>, replies: Reply[]): void {
    for (const [shard, [error, reply]] of replies.entries()) {
      if (error) continue; // a lost group is recreated by the next read
      const claimed = (reply as [string, StreamEntry[]])[1];
      const batch = batches.get(shard) ?? { shard, entries: [] };
      // An own pending entry can come back from both the read and the claim.
      const seen = new Set(batch.entries.map(([id]) => id));
      batch.entries.push(...claimed.filter(([id]) => !seen.has(id)));
      batches.set(shard, batch);
    }
  }

  /**
   * A Redis restarted without persistence has lost the stream and its group: what it
   * held is gone with it (see docs/consistency.md), but new entries must flow again.
   */
  private async recreateLostGroup(shard: number, error: Error): Promise<void> {
    if (!error.message.startsWith('NOGROUP')) throw error;
    this.logger.error(`consumer group of shard ${shard} was lost; recreating it`);
    await this.ensureGroup(shard);
  }

  private async ensureGroup(shard: number): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.layout.stream(shard), CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error as Error).message.includes('BUSYGROUP')) throw error;
    }
  }
}
