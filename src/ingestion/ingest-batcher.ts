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
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (error: unknown) => void;
}

interface ShardQueue {
  waiters: Waiter[];
  size: number;
}

/**
 * Collects the events of concurrent requests for a few milliseconds and sends each
 * shard's collection as one script call, every shard's call in one write: under load,
 * one Redis round trip carries hundreds of requests' events instead of one each. A
 * shard whose collection is full is sent at once, alone.
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
  private readonly inFlight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly script: IngestScript,
    private readonly metrics: Metrics,
  ) {}

  submit(shard: number, events: MeteringEvent[], receivedAtMs: number): Promise<IngestOutcome[]> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(shard);
      if (!queue) {
        queue = { waiters: [], size: 0 };
        this.queues.set(shard, queue);
      }
      queue.waiters.push({ events, receivedAtMs, resolve, reject });
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
    const batches = shards.map((shard) => {
      const { waiters } = this.queues.get(shard)!;
      this.queues.delete(shard);
      // One receivedAt for the batch: the latest arrival, so "late" is never understated.
      const receivedAtMs = Math.max(...waiters.map((w) => w.receivedAtMs));
      const events = waiters.flatMap((w) => w.events);
      this.metrics.batchSize.observe(events.length);
      const end = this.metrics.scriptDuration.startTimer();
      return { shard, waiters, events, receivedAtMs, end };
    });
    const calls = this.script.runAll(batches);
    batches.forEach((batch, i) => this.settle(batch, calls[i]));
  }

  private settle(
    { shard, waiters, end }: { shard: number; waiters: Waiter[]; end: () => void },
    call: Promise<IngestOutcome[]>,
  ): void {
    const settled = call.then(
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
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
  }

  private runAlone(shard: number, waiter: Waiter): Promise<void> {
    return this.script
      .run(shard, waiter.events, waiter.receivedAtMs)
      .then(waiter.resolve, waiter.reject);
  }
}
