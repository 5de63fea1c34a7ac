import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { execAll } from '../infra/redis/exec-all';
import { WindowKeys } from '../infra/redis/redis-keys';
import { PERSISTENCE_REDIS, REDIS } from '../infra/redis/redis.tokens';
import { parseMarker } from './epoch-marker';
import type { StreamEntry } from './stream-entry';

/** The consumer group of the persistence workers, on every shard's stream. */
export const CONSUMER_GROUP = 'persist';

export type { StreamEntry };

export interface ShardEntries {
  shard: number;
  entries: StreamEntry[];
}

export interface StreamRead {
  batches: Map<number, ShardEntries>;
  /** Shards whose read returned less than READ_COUNT: nothing more of theirs is waiting. */
  drained: Set<number>;
  /** The Redis epoch the entries were read in ('' if Redis held no marker then). */
  epochId: string;
}

export interface StreamBacklogFigures {
  /** Entries (micro-batches of events) accepted and not yet persisted. */
  entries: number;
  /** Entries not yet read by any worker. */
  lag: number;
  /** Entries read and not yet acknowledged. */
  pending: number;
}

type ReadReply = [stream: string, entries: StreamEntry[]][] | null;
type Reply = [error: Error | null, result: unknown];

/**
 * The shard streams of accepted events on their way to Postgres: read, claim and
 * acknowledge for the persistence workers (on their own connection, which no request
 * waits on), and the backlog figures for the ingest path's back-pressure and /metrics.
 */
@Injectable()
export class EventStream {
  private readonly logger = new Logger(EventStream.name);

  constructor(
    @Inject(PERSISTENCE_REDIS) private readonly redis: Redis,
    @Inject(REDIS) private readonly commands: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: WindowKeys,
  ) {}

  async ensureGroup(shard: number): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.stream(shard), CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error as Error).message.includes('BUSYGROUP')) throw error;
    }
  }

  /**
   * New entries of every shard, or this consumer's own pending ones for the shards in
   * `fromStart` (after a failure), and with `claim` those idle past PERSIST_CLAIM_IDLE_MS
   * (a dead consumer's). One MULTI with the epoch marker, so the writer knows which Redis
   * epoch the entries came from.
   */
  async read(fromStart: ReadonlySet<number>, claim: boolean): Promise<StreamRead> {
    const { readCount, claimIdleMs } = this.config.persistence;
    const consumer = this.config.instanceId;
    const tx = this.redis.multi();
    for (let shard = 0; shard < this.config.shards; shard++) {
      const id = fromStart.has(shard) ? '0' : '>';
      tx.xreadgroup(
        'GROUP',
        CONSUMER_GROUP,
        consumer,
        'COUNT',
        readCount,
        'STREAMS',
        this.keys.stream(shard),
        id,
      );
    }
    if (claim) {
      for (let shard = 0; shard < this.config.shards; shard++) {
        tx.xautoclaim(
          this.keys.stream(shard),
          CONSUMER_GROUP,
          consumer,
          claimIdleMs,
          '0',
          'COUNT',
          readCount,
        );
      }
    }
    tx.get(this.keys.epochMarker());
    const replies = ((await tx.exec()) ?? []) as Reply[];
    const [, marker] = replies.pop()!;
    const reads = replies.slice(0, this.config.shards);
    const batches = new Map<number, ShardEntries>();
    const drained = new Set<number>();
    for (const [shard, [error, reply]] of reads.entries()) {
      if (error) {
        await this.recreateLostGroup(shard, error);
        continue;
      }
      const entries = (reply as ReadReply)?.[0]?.[1] ?? [];
      if (entries.length < readCount) drained.add(shard);
      batches.set(shard, { shard, entries });
    }
    addClaimed(batches, replies.slice(this.config.shards));
    return { batches, drained, epochId: parseMarker(marker as string | null)?.id ?? '' };
  }

  /** Acknowledges and deletes entries persisted (after their transaction committed). */
  async ack(batches: ShardEntries[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const { shard, entries } of batches) {
      const ids = entries.map(([id]) => id);
      const stream = this.keys.stream(shard);
      pipeline.xack(stream, CONSUMER_GROUP, ...ids).xdel(stream, ...ids);
    }
    await execAll(pipeline);
  }

  /** Summed over the shard streams (entries are deleted once persisted). */
  async backlog(): Promise<StreamBacklogFigures> {
    const pipeline = this.commands.pipeline();
    for (let shard = 0; shard < this.config.shards; shard++) {
      const stream = this.keys.stream(shard);
      pipeline.xlen(stream).xinfo('GROUPS', stream);
    }
    const replies = (await pipeline.exec()) ?? [];
    const figures: StreamBacklogFigures = { entries: 0, lag: 0, pending: 0 };
    for (let shard = 0; shard < this.config.shards; shard++) {
      const [error, length] = replies[2 * shard] as [Error | null, number];
      if (error) throw error;
      // XINFO fails on a stream no worker has created yet: no group, nothing read.
      const [, groups] = replies[2 * shard + 1];
      const group = persistGroup(groups);
      figures.entries += length;
      figures.pending += group?.pending ?? 0;
      // Redis cannot always tell the lag (null); read entries are acknowledged and
      // deleted, so the stream holds exactly the pending and the unread ones.
      figures.lag += group?.lag ?? length - (group?.pending ?? 0);
    }
    return figures;
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
}

/** Adds the claimed entries to the batches. */
function addClaimed(batches: Map<number, ShardEntries>, replies: Reply[]): void {
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
