import { Module } from '@nestjs/common';
import { WindowsModule } from '../windows';
import { LiveModule } from '../live';
import { PersistenceModule } from '../persistence';
import { SpoolModule } from '../infra/spool/spool.module';
import { AuthModule } from '../auth';
import { EventValidator } from './event-validator';
import { IngestBatcher } from './ingest-batcher';
import { IngestScript } from '../window-store/ingest-script';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { SpoolFallback } from './spool-fallback';
import { SpoolReplayer } from './spool-replayer';

@Module({
  imports: [WindowsModule, LiveModule, PersistenceModule, AuthModule, SpoolModule],
  controllers: [IngestionController],
  providers: [
    EventValidator,
    IngestScript,
    IngestBatcher,
    IngestionService,
    SpoolFallback,
    SpoolReplayer,
  ],
})
export class IngestionModule {}
