import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { groupByShard, IngestOutcome } from '../window-store';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { isDisconnected } from '../infra/redis/connection-lost';
import { REDIS } from '../infra/redis/redis.tokens';
import { type SegmentRef, Spool } from '../infra/spool/spool';
import { Metrics, type SpoolReplayOutcome } from '../infra/metrics/metrics';
import { StreamBacklog } from '../persistence';
import { IngestBatcher } from './ingest-batcher';
import { decodeSpooled, type SpooledRequest } from './spooled-request';

const PASS_INTERVAL_MS = 1000;

const OUTCOME_LABELS: Record<IngestOutcome, SpoolReplayOutcome> = {
  [IngestOutcome.Duplicate]: 'duplicate',
  [IngestOutcome.Counted]: 'counted',
  [IngestOutcome.BeyondLateness]: 'beyond',
  [IngestOutcome.CountedLate]: 'late',
};

/**
 * Sends the spool's events through the ingest batcher once Redis is back: the same
 * script as any request, so dedup makes a replay exact however often it runs (an event
 * already counted comes back a duplicate; one past max lateness is stored raw and its
 * window recomputed). A segment is deleted only after every event in it had its
 * outcome; a failure leaves it for the next pass. Passes wait while Redis is out of
 * reach or the stream backlog is above its high-water mark (Postgres behind).
 */
@Injectable()
export class SpoolReplayer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SpoolReplayer.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly spool: Spool,
    private readonly batcher: IngestBatcher,
    private readonly backlog: StreamBacklog,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.spool.enabled) return;
    this.timer = setInterval(() => this.kick(), PASS_INTERVAL_MS);
    this.timer.unref();
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One pass: adopt dead instances' directories, then replay every segment that may be
   * read, oldest first, until one fails. Returns the events replayed.
   */
  async replay(): Promise<number> {
    if (!this.canReplay()) return 0;
    await this.spool.adoptOrphans();
    let replayed = 0;
    for (const segment of await this.spool.segmentsToReplay()) {
      if (!this.canReplay()) break;
      try {
        replayed += await this.replaySegment(segment);
      } catch (error) {
        this.metrics.replayFailures.inc();
        this.logger.warn(
          `replay of ${segment.path} stopped (${(error as Error).message}); it is replayed again, whole, later`,
        );
        break;
      }
    }
    return replayed;
  }

  private kick(): void {
    if (this.running || this.stopping) return;
    this.running = this.replay()
      .then(
        () => undefined,
        (error: unknown) => this.logger.error(`spool replay pass: ${(error as Error).message}`),
      )
      .finally(() => (this.running = undefined));
  }

  private canReplay(): boolean {
    return !this.stopping && !isDisconnected(this.redis) && !this.backlog.isAboveHighWater();
  }

  private async replaySegment(segment: SegmentRef): Promise<number> {
    const { payloads, discardedBytes } = await this.spool.read(segment);
    const counts = [0, 0, 0, 0];
    let chunk: SpooledRequest[] = [];
    let chunkEvents = 0;
    const send = async () => {
      const calls = chunk.flatMap((request) =>
        [...groupByShard(request.events, this.config.shards)].map(([shard, events]) =>
          this.batcher.submit(shard, events, request.receivedAtMs),
        ),
      );
      for (const outcomes of await Promise.all(calls)) {
        for (const outcome of outcomes) counts[outcome]++;
      }
      chunk = [];
      chunkEvents = 0;
    };
    for (const payload of payloads) {
      const request = decodeSpooled(payload);
      chunk.push(request);
      chunkEvents += request.events.length;
      if (chunkEvents >= this.config.ingest.batchMaxEvents) await send();
    }
    if (chunk.length > 0) await send();
    await this.spool.remove(segment);
    if (discardedBytes > 0) {
      this.metrics.spoolDiscardedBytes.inc(discardedBytes);
      this.logger.warn(
        `${segment.path} ended in ${discardedBytes} bytes that were no whole record (a write a crash tore, never acknowledged)`,
      );
    }
    counts.forEach((n, outcome) => {
      this.metrics.replayedEvents.inc({ outcome: OUTCOME_LABELS[outcome as IngestOutcome] }, n);
    });
    const total = counts.reduce((sum, n) => sum + n, 0);
    this.logger.log(
      `replayed ${total} spooled events from ${segment.path}: ${counts[IngestOutcome.Counted]} counted, ` +
        `${counts[IngestOutcome.CountedLate]} late, ${counts[IngestOutcome.BeyondLateness]} past max ` +
        `lateness, ${counts[IngestOutcome.Duplicate]} duplicates`,
    );
    return total;
  }
}
