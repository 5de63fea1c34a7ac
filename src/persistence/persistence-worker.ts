import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Jobs } from '../infra/jobs/jobs';
import { EventStream } from '../window-store';
import { EventWriter } from './event-writer';

const ERROR_BACKOFF_MS = 1000;

/**
 * Drains the shard streams into Postgres. Entries are acknowledged and deleted only
 * after their transaction commits; entries left pending by a dead consumer are taken
 * over with XAUTOCLAIM once idle for PERSIST_CLAIM_IDLE_MS.
 */
@Injectable()
export class PersistenceWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger(PersistenceWorker.name);
  private lastClaimAt = 0;
  /** Shards whose own pending entries must be retried before reading new ones. */
  private readonly retryPending = new Set<number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly stream: EventStream,
    private readonly writer: EventWriter,
    private readonly jobs: Jobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.loop(
      () => this.pass(),
      async () => {
        for (let shard = 0; shard < this.config.shards; shard++) {
          await this.stream.ensureGroup(shard);
          this.retryPending.add(shard);
        }
      },
    );
  }

  /**
   * One pass over every shard: the reads (and claims) of all shards in one transaction,
   * every event in one transaction, the acknowledgements in one pipeline. Returns
   * whether more may be waiting: a shard's read came back full.
   */
  async drainOnce(): Promise<boolean> {
    const claim = this.clock.now() - this.lastClaimAt >= this.config.persistence.claimIdleMs / 2;
    if (claim) this.lastClaimAt = this.clock.now();
    const { batches, drained, epochId } = await this.stream.read(this.retryPending, claim);
    // A shard re-read from its start is done with its own pending entries once drained.
    for (const shard of drained) this.retryPending.delete(shard);
    const nonEmpty = [...batches.values()].filter((b) => b.entries.length > 0);
    if (nonEmpty.length > 0) {
      await this.writer.write(nonEmpty, epochId);
      await this.stream.ack(nonEmpty);
    }
    return drained.size < this.config.shards;
  }

  /**
   * One drain, then a pause when every shard was caught up, or it failed. Under a steady
   * trickle a pass then takes what gathered over the pause instead of an entry or two:
   * each pass costs the same round trips to Redis and Postgres whatever it carries, and
   * back to back they were a tenth of a single-event request's CPU (docs/performance.md).
   */
  private async pass(): Promise<void> {
    try {
      if (!(await this.drainOnce())) await sleep(this.config.persistence.idleDelayMs);
    } catch (error) {
      this.logger.warn(`persisting failed, will retry: ${(error as Error).message}`);
      for (let shard = 0; shard < this.config.shards; shard++) this.retryPending.add(shard);
      await sleep(ERROR_BACKOFF_MS);
    }
  }
}
