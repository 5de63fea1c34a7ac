import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { WindowKeys } from '../infra/redis/redis-keys';
import { EventStream } from './event-stream';
import { IngestScript } from './ingest-script';
import { WindowIndexes } from './window-indexes';
import { WindowReads } from './window-reads';

/**
 * Everything Redis knows about windows and events: the key layout and shards, the window
 * hashes, the open and recompute indexes and the shard streams. Features read and change
 * them through the services exported here, never by key or field name.
 */
@Module({
  providers: [
    {
      provide: WindowKeys,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new WindowKeys(config.redisKeyPrefix, config.shards),
    },
    WindowIndexes,
    EventStream,
    WindowReads,
    IngestScript,
  ],
  exports: [WindowKeys, WindowIndexes, EventStream, WindowReads, IngestScript],
})
export class WindowStoreModule {}
