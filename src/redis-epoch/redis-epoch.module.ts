import { Module } from '@nestjs/common';
import { LockModule } from '../infra/lock/lock.module';
import { WindowStoreModule } from '../window-store';
import { EpochRecovery } from './epoch-recovery';
import { RedisEpoch } from './redis-epoch';
import { RedisEpochRepository } from './redis-epoch.repository';

/**
 * Which life of Redis's data this instance knows, and the recovery after a loss: the
 * windows a loss touched are recomputed from Postgres (docs/reliability/redis-data-loss.md).
 */
@Module({
  imports: [LockModule, WindowStoreModule],
  providers: [RedisEpochRepository, RedisEpoch, EpochRecovery],
  exports: [RedisEpoch],
})
export class RedisEpochModule {}
