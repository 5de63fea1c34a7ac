import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { WindowPublisher, type WindowRow } from '../windows';
import { AnalyticsMetrics } from './analytics-metrics';
import { DAY_MS } from './bucket-plan';
import { Prewarmer } from './prewarmer';
import { UsageVersions } from './usage-versions';

const RETRY_MS = 1000;

/**
 * The analytics side of a committed flush or recompute: new versions for the (tenant, UTC
 * day) it changed, before the closer goes on, so no read after the flush finds an answer
 * from before it; then the tenants' hot answers are warmed again. A version change Redis
 * refused is retried every second until it lands (answers of those days may be stale
 * meanwhile, which tally_analytics_version_bumps_total{outcome="failed"} shows).
 */
@Injectable()
export class FlushedWindows implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FlushedWindows.name);
  private readonly pending = new Map<string, Set<number>>();
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly publisher: WindowPublisher,
    private readonly versions: UsageVersions,
    private readonly prewarmer: Prewarmer,
    private readonly metrics: AnalyticsMetrics,
  ) {}

  onModuleInit(): void {
    this.publisher.onCommitted((rows) => this.committed(rows));
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retry);
  }

  async committed(rows: WindowRow[]): Promise<void> {
    for (const row of rows) {
      const days = this.pending.get(row.tenant_id) ?? new Set<number>();
      days.add(Math.floor(row.window_start.getTime() / DAY_MS));
      this.pending.set(row.tenant_id, days);
    }
    await this.bumpPending();
    this.prewarmer.schedule(rows.map((r) => r.tenant_id));
  }

  private async bumpPending(): Promise<void> {
    const changes = new Map([...this.pending].map(([tenant, days]) => [tenant, new Set(days)]));
    try {
      await this.versions.bump(changes);
      for (const [tenant, days] of changes) {
        const left = this.pending.get(tenant);
        days.forEach((day) => left?.delete(day));
        if (left?.size === 0) this.pending.delete(tenant);
      }
      this.metrics.bumps.inc({ outcome: 'done' });
    } catch (error) {
      this.metrics.bumps.inc({ outcome: 'failed' });
      this.logger.warn(
        `cache versions not changed after a flush, retrying: ${(error as Error).message}`,
      );
      this.retry ??= setTimeout(() => {
        this.retry = undefined;
        void this.bumpPending();
      }, RETRY_MS);
    }
  }
}
