import { Module } from '@nestjs/common';
import { AggregationModule } from '../aggregation/aggregation.module';
import { LiveModule } from '../live/live.module';
import { PersistenceModule } from '../persistence/persistence.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { EventValidator } from './event-validator';
import { IngestBatcher } from './ingest-batcher';
import { IngestScript } from './ingest-script';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';

@Module({
  imports: [AggregationModule, LiveModule, PersistenceModule, TenancyModule],
  controllers: [IngestionController],
  providers: [EventValidator, IngestScript, IngestBatcher, IngestionService],
})
export class IngestionModule {}
