import { Module } from '@nestjs/common';
import { ApiKeyLimitsModule } from '../api-key-limits';
import { LiveModule } from '../live';
import { PersistenceModule } from '../persistence';
import { SpoolModule } from '../infra/spool/spool.module';
import { AuthModule } from '../auth';
import { EventValidator } from './event-validator';
import { IngestBatcher } from './ingest-batcher';
import { WindowStoreModule } from '../window-store';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { SpoolFallback } from './spool-fallback';
import { SpoolReplayer } from './spool-replayer';

@Module({
  imports: [
    WindowStoreModule,
    LiveModule,
    PersistenceModule,
    AuthModule,
    ApiKeyLimitsModule,
    SpoolModule,
  ],
  controllers: [IngestionController],
  providers: [EventValidator, IngestBatcher, IngestionService, SpoolFallback, SpoolReplayer],
})
export class IngestionModule {}
