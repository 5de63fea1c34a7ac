import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Metrics } from '../infra/metrics/metrics';
import {
  classifyIngestFailure,
  IngestOutcome,
  IngestScript,
  type MeteringEvent,
} from '../window-store';

interface Waiter {
  events: MeteringEvent[];
  receivedAtMs: number;
  admitted: Promise<unknown>;
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (error: unknown) => void;
}

interface ShardQueue {
  waiters: Waiter[];
  size: number;
}

interface Queued {
  shard: number;
  waiters: Waiter[];
}

/** Leave already given: events accepted before (a spool replay), or a caller with no budget to ask. */
export const ADMITTED: Promise<unknown> = Promise.resolve();

/**
 * Collects the events of concurrent requests for a few milliseconds and sends each
 * shard's collection as one script call, every shard's call in one write: under load,
 * one Redis round trip carries hundreds of requests' events instead of one each. A
 * shard whose collection is full is sent at once, alone.
 *
 * A request's events may wait for a decision taken beside them (`admitted`: the key's event
 * budget, asked while the request is validated and queued): they are sent only once it
 * has settled, and never if it failed, in which case the request gets its error. Its
 * round trip thus overlaps the collection delay instead of preceding it.
 *
 * A merged call that Redis refuses (`rejected`, ingest-failure.ts: the script checks
 * its arguments before writing, so it wrote nothing) is sent again request by request,
 * so only the request that carries the cause fails, never the others merged with it
 * (other tenants' too). A call that could not reach Redis (`unavailable`) fails all.
 */
@Injectable()
export class IngestBatcher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(IngestBatcher.name);
  private readonly queues = new Map<number, ShardQueue>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly script: IngestScript,
    private readonly metrics: Metrics,
  ) {}

  submit(
    shard: number,
    events: MeteringEvent[],
    receivedAtMs: number,
    admitted = ADMITTED,
  ): Promise<IngestOutcome[]> {
    // Read when the collection is sent; marked handled now, so that a refusal arriving before
    // then is not an unhandled rejection (which would end the process).
    if (admitted !== ADMITTED) admitted.catch(() => undefined);
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(shard);
      if (!queue) {
        queue = { waiters: [], size: 0 };
        this.queues.set(shard, queue);
      }
      queue.waiters.push({ events, receivedAtMs, admitted, resolve, reject });
      queue.size += events.length;
      if (queue.size >= this.config.ingest.batchMaxEvents) {
        this.send([shard]);
      } else {
        this.timer ??= setTimeout(() => this.sendAll(), this.config.ingest.batchDelayMs);
      }
    });
  }

  /** Sends everything queued and waits for every script call under way. */
  async drain(): Promise<void> {
    this.sendAll();
    await Promise.allSettled([...this.inFlight]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private sendAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.send([...this.queues.keys()]);
  }

  private send(shards: number[]): void {
    // A timer that finds every queue already sent full, or a drain with nothing queued.
    if (shards.length === 0) return;
    const queued = shards.map((shard) => {
      const { waiters } = this.queues.get(shard)!;
      this.queues.delete(shard);
      return { shard, waiters };
    });
    const sent = this.admittedOnly(queued).then((admitted) => this.run(admitted));
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /** The waiters whose admission succeeded; the others are answered with its error. */
  private async admittedOnly(queued: Queued[]): Promise<Queued[]> {
    const waiters = queued.flatMap((q) => q.waiters);
    const settled = await Promise.allSettled(waiters.map((w) => w.admitted));
    const refused = new Set<Waiter>();
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      waiters[i].reject(result.reason);
      refused.add(waiters[i]);
    });
    if (refused.size === 0) return queued;
    return queued
      .map(({ shard, waiters: all }) => ({ shard, waiters: all.filter((w) => !refused.has(w)) }))
      .filter((q) => q.waiters.length > 0);
  }

  private run(queued: Queued[]): Promise<unknown> {
    if (queued.length === 0) return Promise.resolve();
    const batches = queued.map(({ shard, waiters }) => {
      // One receivedAt for the batch: the latest arrival, so "late" is never understated.
      const receivedAtMs = Math.max(...waiters.map((w) => w.receivedAtMs));
      const events = waiters.flatMap((w) => w.events);
      this.metrics.batchSize.observe(events.length);
      const end = this.metrics.scriptDuration.startTimer();
      return { shard, waiters, events, receivedAtMs, end };
    });
    const calls = this.script.runAll(batches);
    return Promise.all(batches.map((batch, i) => this.settle(batch, calls[i])));
  }

  private settle(
    { shard, waiters, end }: { shard: number; waiters: Waiter[]; end: () => void },
    call: Promise<IngestOutcome[]>,
  ): Promise<void> {
    return call.then(
      (outcomes) => {
        end();
        let offset = 0;
        for (const waiter of waiters) {
          waiter.resolve(outcomes.slice(offset, offset + waiter.events.length));
          offset += waiter.events.length;
        }
      },
      async (error: unknown) => {
        if (waiters.length === 1 || classifyIngestFailure(error) === 'unavailable') {
          waiters.forEach((w) => w.reject(error));
          return;
        }
        this.logger.warn(
          `a call merging ${waiters.length} requests was refused (${(error as Error).message}); ` +
            'sending each request alone',
        );
        await Promise.all(waiters.map((w) => this.runAlone(shard, w)));
      },
    );
  }

  private runAlone(shard: number, waiter: Waiter): Promise<void> {
    return this.script
      .run(shard, waiter.events, waiter.receivedAtMs)
      .then(waiter.resolve, waiter.reject);
  }
}
