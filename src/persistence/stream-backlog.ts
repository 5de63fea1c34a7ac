import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Metrics } from '../infra/metrics/metrics';
import { EventStream } from '../window-store';

const POLL_MS = 500;

/**
 * Events accepted but not yet in Postgres, summed over the shard streams (entries are
 * deleted once persisted). Polled, so the ingest path reads a number, not Redis. The same
 * poll reads the persistence group's lag and pending entries for /metrics.
 */
@Injectable()
export class StreamBacklog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamBacklog.name);
  private entries = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stream: EventStream,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.refresh(), POLL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Stream entries (each a micro-batch of events) waiting for Postgres. */
  pendingEntries(): number {
    return this.entries;
  }

  isAboveHighWater(): boolean {
    return this.entries > this.config.ingest.streamHighWater;
  }

  async refresh(): Promise<number> {
    try {
      const { entries, lag, pending } = await this.stream.backlog();
      this.entries = entries;
      this.metrics.backlog.set(entries);
      this.metrics.consumerLag.set(lag);
      this.metrics.consumerPending.set(pending);
    } catch (error) {
      this.logger.warn(`backlog poll failed: ${(error as Error).message}`);
    }
    return this.entries;
  }
}
