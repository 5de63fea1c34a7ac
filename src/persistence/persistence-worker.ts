import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, type AppConfig, runsJobs } from '../config/app-config';
import { EventStream } from '../window-store';
import { EventWriter } from './event-writer';

const ERROR_BACKOFF_MS = 1000;

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
    private readonly stream: EventStream,
    private readonly writer: EventWriter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!runsJobs(this.config)) return;
    for (let shard = 0; shard < this.config.shards; shard++) {
      await this.stream.ensureGroup(shard);
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
    const { batches, drained, epochId } = await this.stream.read(this.retryPending, claim);
    // A shard re-read from its start is done with its own pending entries once drained.
    for (const shard of drained) this.retryPending.delete(shard);
    const nonEmpty = [...batches.values()].filter((b) => b.entries.length > 0);
    if (nonEmpty.length === 0) return 0;
    const written = await this.writer.write(nonEmpty, epochId);
    await this.stream.ack(nonEmpty);
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
}
