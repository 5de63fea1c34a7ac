import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Jobs } from '../infra/jobs/jobs';
import { DistributedLock } from '../infra/lock/distributed-lock';
import { Metrics } from '../infra/metrics/metrics';
import { WindowKeys } from '../infra/redis/redis-keys';
import { type DueWindow, windowEndOf, WindowIndexes } from '../window-store';
import { RedisEpoch } from '../redis-epoch';
import { WindowPublisher } from './window-publisher';
import { FlushRow, WindowsRepository } from './windows.repository';

/** After a failed pass (Postgres or Redis away), the next waits this long, as the worker's retry. */
const FAILURE_BACKOFF_MS = 1000;

/**
 * Every CLOSER_INTERVAL_MS, for each shard with work: take the shard's Redlock, write
 * each due window's totals to Postgres (SET semantics, version + 1), recompute the
 * windows Postgres owns, and publish the changes. Another instance holding the lock
 * means that shard is being closed already, so it is skipped this tick. Hashes are
 * flushed only while Redis holds the epoch this instance knows (RedisEpoch).
 */
@Injectable()
export class WindowCloser implements OnApplicationBootstrap {
  private readonly logger = new Logger(WindowCloser.name);
  private running?: Promise<void>;
  private resumeAtMs = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly indexes: WindowIndexes,
    private readonly keys: WindowKeys,
    private readonly lock: DistributedLock,
    private readonly windows: WindowsRepository,
    private readonly publisher: WindowPublisher,
    private readonly jobs: Jobs,
    private readonly metrics: Metrics,
    private readonly epoch: RedisEpoch,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.every('window-closer', this.config.closer.intervalMs, () => this.tick());
  }

  /**
   * One pass; overlapping ticks are skipped, not queued. After a failure the ticks of the
   * next FAILURE_BACKOFF_MS are skipped too: an outage costs one attempt and one warning a
   * second, whatever CLOSER_INTERVAL_MS is, and the closer resumes by itself.
   */
  async tick(): Promise<void> {
    if (this.running || this.clock.now() < this.resumeAtMs) return;
    this.running = this.closeAll()
      .catch((error: Error) => {
        this.logger.warn(`closer pass failed: ${error.message}`);
        this.resumeAtMs = this.clock.now() + FAILURE_BACKOFF_MS;
      })
      .finally(() => (this.running = undefined));
    await this.running;
  }

  /** Closes every shard once; exposed for tests, which drive time through the config. */
  async closeAll(): Promise<void> {
    const nowMs = await this.indexes.now();
    // Each pass starts at a random shard: closers on several instances then spread over
    // the shards instead of queueing on the same lock in the same order.
    const start = Math.floor(Math.random() * this.config.shards);
    for (let i = 0; i < this.config.shards; i++) {
      const shard = (start + i) % this.config.shards;
      if (await this.indexes.hasWork(shard, nowMs)) {
        await this.lock.tryWithLock('closer', this.keys.closerLock(shard), async (signal) => {
          const end = this.metrics.flushDuration.startTimer();
          await this.closeShard(shard, nowMs, signal);
          end();
        });
      }
    }
  }

  private async closeShard(shard: number, nowMs: number, signal: AbortSignal): Promise<void> {
    const batch = this.config.closer.batchWindows;
    const handover = await this.flush(shard, nowMs, signal);
    if (handover.length > 0) {
      await this.indexes.requestRecompute(handover.map(({ ref }) => ({ ...ref, atMs: nowMs })));
      await this.indexes.releaseFlushed(shard, handover);
    }
    // Requests for windows not yet due (after a Redis data loss) wait for their time.
    const requested = await this.indexes.requested(shard, nowMs, batch);
    for (const { ref } of requested) {
      signal.throwIfAborted();
      const changed = await this.windows.recomputeFromRaw(
        ref,
        this.config.window.ms,
        this.config.window.graceMs,
      );
      this.metrics.flushes.inc({ source: 'raw' }, changed.length);
      await this.publisher.published(changed);
    }
    await this.indexes.releaseRecomputed(shard, requested);
  }

  /**
   * Flushes the shard's due windows; returns the windows to recompute from raw events
   * instead: a due window whose hash expired (closers down past its retention), and one
   * Postgres owns since a Redis data loss, whose fresh hash holds only the events that
   * came after it. The hashes are read in one transaction with the epoch marker: if Redis
   * no longer holds the epoch this instance knows, nothing is flushed until it does.
   */
  private async flush(shard: number, nowMs: number, signal: AbortSignal): Promise<DueWindow[]> {
    const { windows, marker } = await this.indexes.readDue(
      shard,
      nowMs,
      this.config.closer.batchWindows,
    );
    if (windows.length === 0) return [];
    if (!this.epoch.holds(marker ?? null)) {
      void this.epoch.check();
      return [];
    }
    const ownedBefore = this.epoch.ownedBeforeMs() ?? -Infinity;
    const rows: FlushRow[] = [];
    const handover: DueWindow[] = [];
    for (const window of windows) {
      const { ref, counters } = window;
      if (counters === null || ref.windowStartMs < ownedBefore) handover.push(window);
      else
        rows.push({
          ref,
          windowEndMs: windowEndOf(ref.windowStartMs, this.config.window.ms),
          counters,
        });
    }
    signal.throwIfAborted();
    const changed = await this.windows.upsertFromRedis(rows);
    await this.indexes.releaseFlushed(
      shard,
      rows.map(({ ref, counters }) => ({ ref, rev: String(counters.rev) })),
    );
    this.metrics.flushes.inc({ source: 'redis' }, changed.length);
    await this.publisher.published(changed);
    return handover;
  }
}
