import { Inject, Injectable, Logger } from '@nestjs/common';
import { shardOf } from '../aggregation/shard';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { Metrics } from '../metrics/metrics';
import { StreamBacklog } from '../persistence/stream-backlog';
import { IngestBatcher } from './ingest-batcher';
import { classifyIngestFailure } from './ingest-failure';
import { checkEvents } from './ingest-script';
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
  ) {}

  /**
   * Counts the events once each. If Redis fails part-way, the caller gets a 503 and
   * retries the whole request: dedup turns the part already counted into duplicates.
   * Events the script could not take fail the whole request before any shard's call.
   */
  async ingest(events: MeteringEvent[], receivedAtMs: number): Promise<IngestResult> {
    checkEvents(events);
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
      // Refused by the script's checks although validated: a bug, answered 500 with an
      // error id (the filter logs it); retrying would not help.
      if (classifyIngestFailure(error) === 'rejected') throw error;
      this.logger.error(`ingest script failed: ${(error as Error).message}`);
      throw new DomainError(ErrorCode.Unavailable, 'The event store is unavailable; retry.', {
        retryAfterSeconds: 1,
      });
    }
    const counts = [0, 0, 0, 0];
    for (const list of outcomes) for (const outcome of list) counts[outcome]++;
    const duplicates = counts[IngestOutcome.Duplicate];
    const accepted = events.length - duplicates;
    this.metrics.events.inc({ outcome: 'accepted' }, accepted);
    this.metrics.events.inc({ outcome: 'duplicate' }, duplicates);
    this.metrics.lateEvents.inc({ horizon: 'within' }, counts[IngestOutcome.CountedLate]);
    this.metrics.lateEvents.inc({ horizon: 'beyond' }, counts[IngestOutcome.BeyondLateness]);
    return { accepted, duplicates };
  }
}
