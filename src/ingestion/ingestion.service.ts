import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  checkEvents,
  classifyIngestFailure,
  groupByShard,
  IngestOutcome,
  type MeteringEvent,
} from '../window-store';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { UsageFeed } from '../live';
import { Metrics } from '../infra/metrics/metrics';
import { StreamBacklog } from '../persistence';
import { ADMITTED, IngestBatcher } from './ingest-batcher';
import { SpoolFallback } from './spool-fallback';

export interface IngestResult {
  /** Events taken: counted now, or synced to the spool (`spooled`), less known duplicates. */
  accepted: number;
  duplicates: number;
  /**
   * Present when Redis was unreachable: how many of `accepted` wait in this instance's
   * spool. Duplicates among them are found at replay, so they are counted as accepted.
   */
  spooled?: number;
}

@Injectable()
export class IngestionService {
  private readonly logger = new Logger(IngestionService.name);
  /** Bound once: prom-client hashes a label object on every unbound inc. */
  private readonly counters;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly batcher: IngestBatcher,
    private readonly backlog: StreamBacklog,
    metrics: Metrics,
    private readonly fallback: SpoolFallback,
    private readonly usage: UsageFeed,
  ) {
    this.counters = {
      accepted: metrics.events.labels({ outcome: 'accepted' }),
      duplicate: metrics.events.labels({ outcome: 'duplicate' }),
      lateWithin: metrics.lateEvents.labels({ horizon: 'within' }),
      lateBeyond: metrics.lateEvents.labels({ horizon: 'beyond' }),
    };
  }

  /**
   * Counts the events once each. If Redis fails part-way, the caller gets a 503 and
   * retries the whole request: dedup turns the part already counted into duplicates.
   * If Redis cannot be reached, the events of the shards it failed go to the spool and
   * are counted when it is back (docs/reliability/spool.md). Events the script could not
   * take fail the whole request before any shard's call, or any spooling.
   *
   * `admitted` is the request's leave to be counted (the key's event budget, asked by the
   * caller): nothing is counted or spooled before it has succeeded, and its error is the
   * answer if it fails.
   */
  async ingest(
    events: MeteringEvent[],
    receivedAtMs: number,
    admitted = ADMITTED,
  ): Promise<IngestResult> {
    checkEvents(events);
    // The backlog lives in Redis: with Redis out of reach it is unknown, and the spool,
    // which reaches the streams only through a replay that watches it, is bounded itself.
    if (this.fallback.redisUnreachable()) {
      await admitted;
      return this.spool(events, receivedAtMs, [0, 0, 0, 0]);
    }
    if (this.backlog.isAboveHighWater()) {
      await admitted;
      throw new DomainError(ErrorCode.Unavailable, 'Persistence is behind; retry shortly.', {
        retryAfterSeconds: 2,
      });
    }
    const shards = [...groupByShard(events, this.config.shards)];
    // The batcher holds the events until `admitted` settles; a refusal rejects here at once.
    const [settled] = await Promise.all([
      Promise.allSettled(
        shards.map(([shard, list]) => this.batcher.submit(shard, list, receivedAtMs, admitted)),
      ),
      admitted,
    ]);
    const counts = [0, 0, 0, 0];
    const unreached: MeteringEvent[] = [];
    let failure: unknown;
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') this.tally(shards[i][1], result.value, counts);
      else if (this.fallback.takes(result.reason)) unreached.push(...shards[i][1]);
      else failure ??= result.reason;
    });
    // Refused by the script's checks although validated: a bug, answered 500 with an
    // error id (the filter logs it); retrying would not help.
    if (failure !== undefined && classifyIngestFailure(failure) === 'rejected') {
      throw failure as Error;
    }
    if (failure !== undefined) {
      this.logger.error(`ingest script failed: ${(failure as Error).message}`);
      throw new DomainError(ErrorCode.Unavailable, 'The event store is unavailable; retry.', {
        retryAfterSeconds: 1,
      });
    }
    if (unreached.length > 0) return this.spool(unreached, receivedAtMs, counts);
    return this.answer(counts);
  }

  /** `counts`: outcomes of the shards Redis did answer for, if any. */
  private async spool(
    events: MeteringEvent[],
    receivedAtMs: number,
    counts: number[],
  ): Promise<IngestResult> {
    await this.fallback.store(events, receivedAtMs);
    const answered = this.answer(counts);
    return { ...answered, accepted: answered.accepted + events.length, spooled: events.length };
  }

  /** Adds a shard's outcomes to `counts`; what got counted into a window goes to the live feed. */
  private tally(events: MeteringEvent[], outcomes: IngestOutcome[], counts: number[]): void {
    outcomes.forEach((outcome, j) => {
      counts[outcome]++;
      if (outcome === IngestOutcome.Counted || outcome === IngestOutcome.CountedLate) {
        const e = events[j];
        this.usage.note(e.tenantId, e.customerId, e.timestampMs);
      }
    });
  }

  private answer(counts: number[]): IngestResult {
    const duplicates = counts[IngestOutcome.Duplicate];
    const accepted =
      counts[IngestOutcome.Counted] +
      counts[IngestOutcome.CountedLate] +
      counts[IngestOutcome.BeyondLateness];
    this.counters.accepted.inc(accepted);
    this.counters.duplicate.inc(duplicates);
    this.counters.lateWithin.inc(counts[IngestOutcome.CountedLate]);
    this.counters.lateBeyond.inc(counts[IngestOutcome.BeyondLateness]);
    return { accepted, duplicates };
  }
}
