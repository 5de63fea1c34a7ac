import { Module } from '@nestjs/common';
import { DistributedLock } from './distributed-lock';

/** Redlock on the shared Redis connection, for the features that take locks. */
@Module({
  providers: [DistributedLock],
  exports: [DistributedLock],
})
export class LockModule {}
