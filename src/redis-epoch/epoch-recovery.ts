import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Jobs } from '../infra/jobs/jobs';
import { DistributedLock } from '../infra/lock/distributed-lock';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import { Metrics } from '../infra/metrics/metrics';
import { parseMarker, shardOf, windowEndOf } from '../window-store';
import { type EpochRecord, RedisEpochRepository, WindowToRecover } from './redis-epoch.repository';
import { WindowKeys } from '../infra/redis/redis-keys';

/** Members per ZADD / ZMSCORE command. */
const CHUNK = 1000;

/** Recompute requests of one shard: member → the score it was requested with. */
type Requests = Map<number, Map<string, number>>;

/**
 * After a Redis data loss, asks for a recompute from raw events of every window the lost
 * data could have touched, and waits until the closers have done them all before it
 * records the recovery done. One instance at a time (a Redlock); another one, or the next
 * tick, takes over if it dies halfway, since the row stays pending until then. Doing it
 * twice is harmless: a recompute is a SET of totals read from raw events.
 */
@Injectable()
export class EpochRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EpochRecovery.name);
  private readonly stopping = new AbortController();
  private running?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly layout: WindowKeys,
    private readonly repository: RedisEpochRepository,
    private readonly lock: DistributedLock,
    private readonly metrics: Metrics,
    private readonly jobs: Jobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.every('epoch-recovery', this.config.redisEpochCheckMs, () => this.tick());
  }

  /** A recovery in progress stops at its next step. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** One recovery at a time per instance; overlapping ticks are skipped. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.recoverIfPending()
      .catch((error: Error) => this.logger.warn(`recovery pass failed: ${error.message}`))
      .finally(() => (this.running = undefined));
    await this.running;
  }

  private async recoverIfPending(): Promise<void> {
    const record = await this.repository.current();
    this.metrics.redisRecoveryPending.set(record && isPending(record) ? 1 : 0);
    if (!record || !isPending(record)) return;
    await this.lock.tryWithLock('recovery', this.layout.recoveryLock(), (signal) =>
      this.recover(AbortSignal.any([signal, this.stopping.signal])),
    );
  }

  private async recover(signal: AbortSignal): Promise<void> {
    // Read again under the lock: another instance may have finished meanwhile.
    const record = await this.repository.current();
    if (!record || !isPending(record)) return;
    const startedAt = this.clock.now();
    const windows =
      record.recoverFromMs === null || record.ownedBeforeMs === null
        ? []
        : await this.repository.windowsToRecover(
            record.recoverFromMs,
            record.ownedBeforeMs,
            this.config.window.ms,
          );
    signal.throwIfAborted();
    const requests = await this.request(windows);
    this.metrics.redisRecoveryWindows.inc(windows.length);
    await this.awaitRecomputed(record, requests, signal);
    if (await this.repository.markRecovered(record, windows.length)) {
      this.metrics.redisRecoveryPending.set(0);
      this.logger.log(
        `recovered from the Redis data loss: ${windows.length} windows recomputed from raw ` +
          `events in ${((this.clock.now() - startedAt) / 1000).toFixed(1)} s`,
      );
    }
  }

  /**
   * A window not yet due is requested for when it is (its end + grace), so it is
   * recomputed once, after its events are in, rather than on every pass. GT keeps a later
   * request already there; the score read back in the same transaction is the one to
   * wait for.
   */
  private async request(windows: WindowToRecover[]): Promise<Requests> {
    const { ms, graceMs } = this.config.window;
    const now = this.clock.now();
    const wanted = new Map<number, [member: string, score: number][]>();
    for (const w of windows) {
      const shard = shardOf(w.tenantId, w.customerId, this.config.shards);
      const score = Math.max(now, windowEndOf(w.windowStartMs, ms) + graceMs);
      const members = wanted.get(shard) ?? [];
      members.push([this.layout.windowKey({ shard, ...w }), score]);
      wanted.set(shard, members);
    }
    const requests: Requests = new Map();
    for (const [shard, members] of wanted) {
      const index = this.layout.recomputeIndex(shard);
      const requested = new Map<string, number>();
      for (const chunk of chunks(members)) {
        const [, scores] = (await execAll(
          this.redis
            .multi()
            .zadd(index, 'GT', ...chunk.flatMap(([member, score]) => [score, member]))
            .zmscore(index, ...chunk.map(([member]) => member)),
        )) as [number, string[]];
        chunk.forEach(([member], i) => requested.set(member, Number(scores[i])));
      }
      requests.set(shard, requested);
    }
    return requests;
  }

  /**
   * Until no request of ours is left in the indexes: the closer removes one once it has
   * recomputed the window (a newer request in its place is the writer's, done in its own
   * time). The last look is one transaction with the epoch marker: requests that vanish
   * because Redis lost its data again do not count as done.
   */
  private async awaitRecomputed(
    record: EpochRecord,
    requests: Requests,
    signal: AbortSignal,
  ): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const tx = this.redis.multi();
      const asked: [number, string, number][] = [];
      for (const [shard, members] of requests) {
        for (const chunk of chunks([...members])) {
          tx.zmscore(this.layout.recomputeIndex(shard), ...chunk.map(([member]) => member));
          chunk.forEach(([member, score]) => asked.push([shard, member, score]));
        }
      }
      tx.get(this.layout.epochMarker());
      const replies = await execAll(tx);
      const marker = parseMarker(replies.pop() as string | null);
      if (marker?.id !== record.epochId) {
        throw new Error('Redis changed epoch during the recovery; the next one covers this one');
      }
      const scores = (replies as (string | null)[][]).flat();
      asked.forEach(([shard, member, score], i) => {
        const now = scores[i];
        if (now === null || Number(now) > score) requests.get(shard)!.delete(member);
      });
      for (const [shard, members] of requests) if (members.size === 0) requests.delete(shard);
      if (requests.size === 0) return;
      await sleep(this.config.redisEpochCheckMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

function isPending(record: EpochRecord): boolean {
  return record.recoveryDone < record.recoveryRequested;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
