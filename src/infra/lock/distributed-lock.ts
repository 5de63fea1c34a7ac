import { Inject, Injectable, Logger, BeforeApplicationShutdown } from '@nestjs/common';
import { ExecutionError, Redlock, type RedlockAbortSignal } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { type LockKind, Metrics } from '../metrics/metrics';
import { REDIS } from '../redis/redis.tokens';

export type LockOutcome<T> = { acquired: true; result: T } | { acquired: false };

/**
 * Redlock around a routine: TTL, retries and jitter from config, the lock extended
 * automatically while the routine runs (the signal aborts if an extension fails) and
 * released in `finally`. A lock that cannot be had is a normal outcome, not an error:
 * another instance is doing the work.
 */
@Injectable()
export class DistributedLock implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DistributedLock.name);
  private readonly redlock: Redlock;
  private readonly held = new Set<Promise<unknown>>();

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    const { retryCount, retryDelayMs, retryJitterMs } = config.lock;
    this.redlock = new Redlock([redis], {
      retryCount,
      retryDelay: retryDelayMs,
      retryJitter: retryJitterMs,
      automaticExtensionThreshold: Math.min(500, Math.floor(config.lock.ttlMs / 3)),
    });
    this.redlock.on('error', (error: Error) => this.logger.debug(`redlock: ${error.message}`));
  }

  /**
   * `kind` labels the metrics (acquisitions, wait and hold time) of this use of locks; a
   * new kind is declared in metrics.ts, so its series exist from the start.
   */
  async tryWithLock<T>(
    kind: LockKind,
    resource: string,
    routine: (signal: RedlockAbortSignal) => Promise<T>,
  ): Promise<LockOutcome<T>> {
    const startedAt = performance.now();
    let enteredAt: number | undefined;
    const run = this.redlock.using([resource], this.config.lock.ttlMs, async (signal) => {
      enteredAt = performance.now();
      this.metrics.lockWait.observe({ kind }, (enteredAt - startedAt) / 1000);
      this.metrics.lockAttempts.inc({ kind, outcome: 'acquired' });
      return routine(signal);
    });
    this.held.add(run);
    try {
      return { acquired: true, result: await run };
    } catch (error) {
      if (enteredAt === undefined && error instanceof ExecutionError) {
        this.metrics.lockWait.observe({ kind }, (performance.now() - startedAt) / 1000);
        this.metrics.lockAttempts.inc({ kind, outcome: 'busy' });
        return { acquired: false };
      }
      throw error;
    } finally {
      if (enteredAt !== undefined) {
        this.metrics.lockHold.observe({ kind }, (performance.now() - enteredAt) / 1000);
      }
      this.held.delete(run);
    }
  }

  /** Lets routines holding a lock finish (and release it) before the connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.held]);
  }
}
