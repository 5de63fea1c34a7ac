import { Inject, Injectable, Logger } from '@nestjs/common';
import { shardOf } from '../aggregation/shard';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { UsageFeed } from '../live/usage-feed';
import { Metrics } from '../metrics/metrics';
import { StreamBacklog } from '../persistence/stream-backlog';
import { IngestBatcher } from './ingest-batcher';
import { IngestOutcome, MeteringEvent } from './metering-event';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

@Injectable()
export class IngestionService {
  private readonly logger = new Logger(IngestionService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly batcher: IngestBatcher,
    private readonly backlog: StreamBacklog,
    private readonly metrics: Metrics,
    private readonly usage: UsageFeed,
  ) {}

  /**
   * Counts the events once each. If Redis fails part-way, the caller gets a 503 and
   * retries the whole request: dedup turns the part already counted into duplicates.
   */
  async ingest(events: MeteringEvent[], receivedAtMs: number): Promise<IngestResult> {
    if (this.backlog.isAboveHighWater()) {
      throw new DomainError(ErrorCode.Unavailable, 'Persistence is behind; retry shortly.', {
        retryAfterSeconds: 2,
      });
    }
    const byShard = new Map<number, MeteringEvent[]>();
    for (const event of events) {
      const shard = shardOf(event.tenantId, event.customerId, this.config.shards);
      const list = byShard.get(shard);
      if (list) list.push(event);
      else byShard.set(shard, [event]);
    }
    let outcomes: IngestOutcome[][];
    try {
      outcomes = await Promise.all(
        [...byShard].map(([shard, list]) => this.batcher.submit(shard, list, receivedAtMs)),
      );
    } catch (error) {
      this.logger.error(`ingest script failed: ${(error as Error).message}`);
      throw new DomainError(ErrorCode.Unavailable, 'The event store is unavailable; retry.', {
        retryAfterSeconds: 1,
      });
    }
    const counts = [0, 0, 0, 0];
    const lists = [...byShard.values()];
    for (let i = 0; i < outcomes.length; i++) {
      for (let j = 0; j < outcomes[i].length; j++) {
        const outcome = outcomes[i][j];
        counts[outcome]++;
        // Counted into a Redis window: the live stream's usage.updated will carry it.
        if (outcome === IngestOutcome.Counted || outcome === IngestOutcome.CountedLate) {
          const e = lists[i][j];
          this.usage.note(e.tenantId, e.customerId, e.timestampMs);
        }
      }
    }
    const duplicates = counts[IngestOutcome.Duplicate];
    const accepted = events.length - duplicates;
    this.metrics.events.inc({ outcome: 'accepted' }, accepted);
    this.metrics.events.inc({ outcome: 'duplicate' }, duplicates);
    this.metrics.lateEvents.inc({ horizon: 'within' }, counts[IngestOutcome.CountedLate]);
    this.metrics.lateEvents.inc({ horizon: 'beyond' }, counts[IngestOutcome.BeyondLateness]);
    return { accepted, duplicates };
  }
}
