import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { tenantScope } from '../infra/database/tenant-scope';
import { AnalyticsService } from './analytics.service';
import { HotQueries } from './hot-queries';

/**
 * After flushes, recomputes the tenants' hot `daily` and `top` answers into the cache in
 * the background, so a dashboard's next read finds them without a database call. Flushes
 * within ANALYTICS_PREWARM_DELAY_MS of each other (a closer pass over all shards) are
 * warmed once; one round runs at a time.
 */
@Injectable()
export class Prewarmer implements OnApplicationShutdown {
  private readonly logger = new Logger(Prewarmer.name);
  private readonly due = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly service: AnalyticsService,
    private readonly hot: HotQueries,
  ) {}

  schedule(tenantIds: Iterable<string>): void {
    if (this.config.analytics.prewarmDelayMs === 0 || this.stopped) return;
    for (const tenantId of tenantIds) this.due.add(tenantId);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.round();
    }, this.config.analytics.prewarmDelayMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    if (this.running) {
      // Come back once the round in progress is over; its tenants stay due.
      await this.running;
      if (this.due.size > 0) this.schedule([]);
      return;
    }
    const tenants = [...this.due];
    this.due.clear();
    this.running = this.warm(tenants).finally(() => (this.running = undefined));
    await this.running;
  }

  private async warm(tenantIds: string[]): Promise<void> {
    for (const tenantId of tenantIds) {
      if (this.stopped) return;
      try {
        const nowMs = this.clock.now();
        for (const query of await this.hot.recent(tenantId, nowMs)) {
          await this.service.warm(tenantScope(tenantId), query, nowMs);
        }
      } catch (error) {
        this.logger.warn(`pre-warm of tenant ${tenantId} failed: ${(error as Error).message}`);
      }
    }
  }
}
