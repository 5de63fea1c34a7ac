import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { LockModule } from '../infra/lock/lock.module';
import { LiveModule } from '../live/live.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { EpochRecovery } from './epoch-recovery';
import { RedisEpoch } from './redis-epoch';
import { RedisEpochRepository } from './redis-epoch.repository';
import { WindowKeys } from '../infra/redis/redis-keys';
import { WindowCloser } from './window-closer';
import { WindowPublisher } from './window-publisher';
import { WindowsController } from './windows.controller';
import { WindowsRepository } from './windows.repository';
import { WindowsService } from './windows.service';

@Module({
  imports: [LockModule, TenancyModule, LiveModule],
  controllers: [WindowsController],
  providers: [
    {
      provide: WindowKeys,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new WindowKeys(config.redisKeyPrefix, config.shards),
    },
    WindowsRepository,
    WindowsService,
    WindowPublisher,
    WindowCloser,
    RedisEpochRepository,
    RedisEpoch,
    EpochRecovery,
  ],
  exports: [WindowKeys, WindowsService, WindowPublisher],
})
export class AggregationModule {}
