import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { WindowStoreModule } from '../window-store';
import { DashboardController } from './dashboard.controller';
import { LiveEvents } from './live-events';
import { StreamController } from './stream.controller';
import { StreamHistory } from './stream-history';
import { StreamHub } from './stream-hub';
import { StreamSlots } from './stream-slots';
import { TenantChannels } from './tenant-channels';
import { UsageFeed } from './usage-feed';
import { WindowCounters } from './window-counters';

/**
 * The live side: `GET /v1/stream` (Server-Sent Events) and the `/dashboard` page.
 * Producers publish through LiveEvents (the closer, the usage feed, later alerts); the
 * ingest path notes counted events in UsageFeed. docs/live.md.
 */
@Module({
  imports: [AuthModule, WindowStoreModule],
  controllers: [StreamController, DashboardController],
  providers: [
    WindowCounters,
    LiveEvents,
    UsageFeed,
    StreamHistory,
    StreamSlots,
    TenantChannels,
    StreamHub,
  ],
  exports: [LiveEvents, UsageFeed],
})
export class LiveModule {}
