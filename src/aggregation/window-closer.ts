import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, runsJobs } from '../config/app-config';
import { DistributedLock } from '../infra/lock/distributed-lock';
import { Metrics } from '../infra/metrics/metrics';
import { execAll } from '../infra/redis/exec-all';
import { REDIS } from '../infra/redis/redis.tokens';
import { RELEASE_FLUSHED_LUA, RELEASE_RECOMPUTED_LUA } from '../window-store/release.lua';
import { RedisEpoch } from './redis-epoch';
import { WindowKeys } from '../infra/redis/redis-keys';
import { countersFromHash } from '../window-store/window-hash';
import { WindowPublisher } from './window-publisher';
import { FlushRow, WindowsRepository } from './windows.repository';
import { latestDueEnd, windowEndOf } from '../window-store/window-math';

type ReleaseCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>;

/** After a failed pass (Postgres or Redis away), the next waits this long, as the worker's retry. */
const FAILURE_BACKOFF_MS = 1000;
/** A due window the closer hands to Postgres instead of flushing it; rev '' when its hash is gone. */
interface Handover {
  key: string;
  rev: string;
}

/**
 * Every CLOSER_INTERVAL_MS, for each shard with work: take the shard's Redlock, write
 * each due window's totals to Postgres (SET semantics, version + 1), recompute the
 * windows Postgres owns, and publish the changes. Another instance holding the lock
 * means that shard is being closed already, so it is skipped this tick. Hashes are
 * flushed only while Redis holds the epoch this instance knows (RedisEpoch).
 */
@Injectable()
export class WindowCloser implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WindowCloser.name);
  private readonly releaseFlushed: ReleaseCommand;
  private readonly releaseRecomputed: ReleaseCommand;
  private running?: Promise<void>;
  private resumeAtMs = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly layout: WindowKeys,
    private readonly lock: DistributedLock,
    private readonly windows: WindowsRepository,
    private readonly publisher: WindowPublisher,
    private readonly scheduler: SchedulerRegistry,
    private readonly metrics: Metrics,
    private readonly epoch: RedisEpoch,
  ) {
    redis.defineCommand('tallyReleaseFlushed', { lua: RELEASE_FLUSHED_LUA });
    redis.defineCommand('tallyReleaseRecomputed', { lua: RELEASE_RECOMPUTED_LUA });
    const commands = redis as unknown as Record<string, ReleaseCommand>;
    this.releaseFlushed = commands.tallyReleaseFlushed.bind(redis);
    this.releaseRecomputed = commands.tallyReleaseRecomputed.bind(redis);
  }

  onApplicationBootstrap(): void {
    if (!runsJobs(this.config)) return;
    const timer = setInterval(() => void this.tick(), this.config.closer.intervalMs);
    this.scheduler.addInterval('window-closer', timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', 'window-closer')) {
      this.scheduler.deleteInterval('window-closer');
    }
    await this.running;
  }

  /**
   * One pass; overlapping ticks are skipped, not queued. After a failure the ticks of the
   * next FAILURE_BACKOFF_MS are skipped too: an outage costs one attempt and one warning a
   * second, whatever CLOSER_INTERVAL_MS is, and the closer resumes by itself.
   */
  async tick(): Promise<void> {
    if (this.running || Date.now() < this.resumeAtMs) return;
    this.running = this.closeAll()
      .catch((error: Error) => {
        this.logger.warn(`closer pass failed: ${error.message}`);
        this.resumeAtMs = Date.now() + FAILURE_BACKOFF_MS;
      })
      .finally(() => (this.running = undefined));
    await this.running;
  }

  /** Closes every shard once; exposed for tests, which drive time through the config. */
  async closeAll(): Promise<void> {
    const [seconds, micros] = await this.redis.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // Each pass starts at a random shard: closers on several instances then spread over
    // the shards instead of queueing on the same lock in the same order.
    const start = Math.floor(Math.random() * this.config.shards);
    for (let i = 0; i < this.config.shards; i++) {
      const shard = (start + i) % this.config.shards;
      if (await this.hasWork(shard, nowMs)) {
        await this.lock.tryWithLock('closer', this.layout.closerLock(shard), async (signal) => {
          const end = this.metrics.flushDuration.startTimer();
          await this.closeShard(shard, nowMs, signal);
          end();
        });
      }
    }
  }

  private async hasWork(shard: number, nowMs: number): Promise<boolean> {
    const [due, recompute] = await Promise.all([
      this.redis.zrangebyscore(
        this.layout.openIndex(shard),
        '-inf',
        latestDueEnd(nowMs, this.config.window.graceMs),
        'LIMIT',
        0,
        1,
      ),
      this.redis.zcount(this.layout.recomputeIndex(shard), '-inf', nowMs),
    ]);
    return due.length > 0 || recompute > 0;
  }

  private async closeShard(shard: number, nowMs: number, signal: AbortSignal): Promise<void> {
    const batch = this.config.closer.batchWindows;
    const open = this.layout.openIndex(shard);
    const due = await this.redis.zrangebyscore(
      open,
      '-inf',
      latestDueEnd(nowMs, this.config.window.graceMs),
      'LIMIT',
      0,
      batch,
    );
    const handover = await this.flush(open, due, signal);
    const recomputeIndex = this.layout.recomputeIndex(shard);
    if (handover.length > 0) {
      await this.redis.zadd(recomputeIndex, ...handover.flatMap(({ key }) => [nowMs, key]));
      await this.releaseFlushed(
        1 + handover.length,
        open,
        ...handover.map(({ key }) => key),
        ...handover.map(({ rev }) => rev),
      );
    }
    // Requests for windows not yet due (after a Redis data loss) wait for their time.
    const requested = await this.redis.zrangebyscore(
      recomputeIndex,
      '-inf',
      nowMs,
      'WITHSCORES',
      'LIMIT',
      0,
      batch,
    );
    await this.recompute(recomputeIndex, requested, signal);
  }

  /**
   * Flushes the given window hashes; returns the windows to recompute from raw events
   * instead: a due window whose hash expired (closers down past its retention), and one
   * Postgres owns since a Redis data loss, whose fresh hash holds only the events that
   * came after it. The hashes are read in one transaction with the epoch marker: if Redis
   * no longer holds the epoch this instance knows, nothing is flushed until it does.
   */
  private async flush(open: string, keys: string[], signal: AbortSignal): Promise<Handover[]> {
    if (keys.length === 0) return [];
    const tx = this.redis.multi();
    keys.forEach((key) => tx.hgetall(key));
    tx.get(this.layout.epochMarker());
    const replies = await execAll(tx);
    if (!this.epoch.holds(replies.pop() as string | null)) {
      void this.epoch.check();
      return [];
    }
    const hashes = replies as Record<string, string>[];
    const ownedBefore = this.epoch.ownedBeforeMs() ?? -Infinity;
    const rows: FlushRow[] = [];
    const handover: Handover[] = [];
    hashes.forEach((hash, i) => {
      const ref = this.layout.parseWindowKey(keys[i]);
      if (Object.keys(hash).length === 0) handover.push({ key: keys[i], rev: '' });
      else if (ref.windowStartMs < ownedBefore) handover.push({ key: keys[i], rev: hash.rev });
      else
        rows.push({
          ref,
          windowEndMs: windowEndOf(ref.windowStartMs, this.config.window.ms),
          counters: countersFromHash(hash),
        });
    });
    signal.throwIfAborted();
    const changed = await this.windows.upsertFromRedis(rows);
    const flushedKeys = rows.map((r) => this.layout.windowKey(r.ref));
    const revs = rows.map((r) => String(r.counters.rev));
    if (flushedKeys.length > 0) {
      await this.releaseFlushed(1 + flushedKeys.length, open, ...flushedKeys, ...revs);
    }
    this.metrics.flushes.inc({ source: 'redis' }, changed.length);
    await this.publisher.published(changed);
    return handover;
  }

  private async recompute(index: string, withScores: string[], signal: AbortSignal): Promise<void> {
    for (let i = 0; i < withScores.length; i += 2) {
      signal.throwIfAborted();
      const ref = this.layout.parseWindowKey(withScores[i]);
      const changed = await this.windows.recomputeFromRaw(
        ref,
        this.config.window.ms,
        this.config.window.graceMs,
      );
      this.metrics.flushes.inc({ source: 'raw' }, changed.length);
      await this.publisher.published(changed);
    }
    if (withScores.length > 0) await this.releaseRecomputed(1, index, ...withScores);
  }
}
