import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Jobs } from '../infra/jobs/jobs';
import { DistributedLock } from '../infra/lock/distributed-lock';
import { Metrics } from '../infra/metrics/metrics';
import { parseMarker, type RecomputeTracking, WindowIndexes, windowEndOf } from '../window-store';
import { type EpochRecord, RedisEpochRepository, WindowToRecover } from './redis-epoch.repository';
import { WindowKeys } from '../infra/redis/redis-keys';

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
    private readonly indexes: WindowIndexes,
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
   * recomputed once, after its events are in, rather than on every pass.
   */
  private request(windows: WindowToRecover[]): Promise<RecomputeTracking> {
    const { ms, graceMs } = this.config.window;
    const now = this.clock.now();
    return this.indexes.requestRecomputeTracked(
      windows.map((w) => ({
        ...w,
        atMs: Math.max(now, windowEndOf(w.windowStartMs, ms) + graceMs),
      })),
    );
  }

  /** Until no request of ours is left in the indexes (the closer removes each once done). */
  private async awaitRecomputed(
    record: EpochRecord,
    requests: RecomputeTracking,
    signal: AbortSignal,
  ): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const marker = parseMarker(await this.indexes.pruneDone(requests));
      if (marker?.id !== record.epochId) {
        throw new Error('Redis changed epoch during the recovery; the next one covers this one');
      }
      if (requests.size === 0) return;
      await sleep(this.config.redisEpochCheckMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

function isPending(record: EpochRecord): boolean {
  return record.recoveryDone < record.recoveryRequested;
}
