import { Module } from '@nestjs/common';
import { WindowStoreModule } from '../window-store';
import { EventWriter } from './event-writer';
import { PartitionMaintainer } from './partition-maintainer';
import { PersistenceWorker } from './persistence-worker';
import { StreamBacklog } from './stream-backlog';

@Module({
  imports: [WindowStoreModule],
  providers: [StreamBacklog, EventWriter, PersistenceWorker, PartitionMaintainer],
  exports: [StreamBacklog],
})
export class PersistenceModule {}
