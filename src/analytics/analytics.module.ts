import { Module } from '@nestjs/common';
import { WindowsModule } from '../windows';
import { WindowStoreModule } from '../window-store';
import { AuthModule } from '../auth';
import { AnalyticsMetrics } from './analytics-metrics';
import { AnalyticsService } from './analytics.service';
import { EventsController } from './events.controller';
import { FlushedWindows } from './flushed-windows';
import { HotQueries } from './hot-queries';
import { OpenWindows } from './open-windows';
import { Prewarmer } from './prewarmer';
import { UsageCache } from './usage-cache';
import { UsageEngine } from './usage-engine';
import { UsageVersions } from './usage-versions';
import { UsageController } from './usage.controller';
import { UsageRepository } from './usage.repository';

/** The analysts' side: usage rollups, daily and top, raw events, CSV export, the versioned cache. */
@Module({
  imports: [AuthModule, WindowsModule, WindowStoreModule],
  controllers: [UsageController, EventsController],
  providers: [
    AnalyticsMetrics,
    UsageRepository,
    OpenWindows,
    UsageVersions,
    UsageCache,
    UsageEngine,
    HotQueries,
    AnalyticsService,
    Prewarmer,
    FlushedWindows,
  ],
  exports: [AnalyticsService],
})
export class AnalyticsModule {}
