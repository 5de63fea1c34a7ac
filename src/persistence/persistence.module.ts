import { Module } from '@nestjs/common';
import { AggregationModule } from '../aggregation/aggregation.module';
import { EventWriter } from './event-writer';
import { PartitionMaintainer } from './partition-maintainer';
import { PersistenceWorker } from './persistence-worker';
import { StreamBacklog } from './stream-backlog';

@Module({
  imports: [AggregationModule],
  providers: [StreamBacklog, EventWriter, PersistenceWorker, PartitionMaintainer],
  exports: [StreamBacklog],
})
export class PersistenceModule {}
