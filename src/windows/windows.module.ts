import { Module } from '@nestjs/common';
import { LockModule } from '../infra/lock/lock.module';
import { LiveModule } from '../live/live.module';
import { TenancyModule } from '../auth/auth.module';
import { EpochRecovery } from '../redis-epoch/epoch-recovery';
import { RedisEpoch } from '../redis-epoch/redis-epoch';
import { RedisEpochRepository } from '../redis-epoch/redis-epoch.repository';
import { WindowStoreModule } from '../window-store/window-store.module';
import { WindowCloser } from './window-closer';
import { WindowPublisher } from './window-publisher';
import { WindowsController } from './windows.controller';
import { WindowsRepository } from './windows.repository';
import { WindowsService } from './windows.service';

@Module({
  imports: [LockModule, WindowStoreModule, TenancyModule, LiveModule],
  controllers: [WindowsController],
  providers: [
    WindowsRepository,
    WindowsService,
    WindowPublisher,
    WindowCloser,
    RedisEpochRepository,
    RedisEpoch,
    EpochRecovery,
  ],
  exports: [WindowStoreModule, WindowsService, WindowPublisher],
})
export class AggregationModule {}
