import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { IngestScript } from './ingest-script';
import { IngestOutcome, MeteringEvent } from './metering-event';

interface Waiter {
  events: MeteringEvent[];
  receivedAtMs: number;
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (error: unknown) => void;
}

interface ShardQueue {
  waiters: Waiter[];
  size: number;
  timer?: NodeJS.Timeout;
}

/**
 * Collects the events of concurrent requests for a few milliseconds and sends each
 * shard's collection as one script call: under load, one Redis round trip carries
 * hundreds of requests' events instead of one each.
 */
@Injectable()
export class IngestBatcher implements BeforeApplicationShutdown {
  private readonly queues = new Map<number, ShardQueue>();
  private readonly inFlight = new Set<Promise<void>>();

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
        this.flush(shard);
      } else {
        queue.timer ??= setTimeout(() => this.flush(shard), this.config.ingest.batchDelayMs);
      }
    });
  }

  /** Sends everything queued and waits for every script call under way. */
  async drain(): Promise<void> {
    for (const shard of [...this.queues.keys()]) this.flush(shard);
    await Promise.allSettled([...this.inFlight]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private flush(shard: number): void {
    const queue = this.queues.get(shard);
    if (!queue) return;
    this.queues.delete(shard);
    clearTimeout(queue.timer);
    const { waiters } = queue;
    const events = waiters.flatMap((w) => w.events);
    // One receivedAt for the batch: the latest arrival, so "late" is never understated.
    const receivedAtMs = Math.max(...waiters.map((w) => w.receivedAtMs));
    this.metrics.batchSize.observe(events.length);
    const end = this.metrics.scriptDuration.startTimer();
    const call = this.script.run(shard, events, receivedAtMs).then(
      (outcomes) => {
        end();
        let offset = 0;
        for (const waiter of waiters) {
          waiter.resolve(outcomes.slice(offset, offset + waiter.events.length));
          offset += waiter.events.length;
        }
      },
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
    this.inFlight.add(call);
    void call.finally(() => this.inFlight.delete(call));
  }
}
