import { Module } from '@nestjs/common';
import { LockModule } from '../infra/lock/lock.module';
import { LiveModule } from '../live';
import { RedisEpochModule } from '../redis-epoch';
import { WindowStoreModule } from '../window-store';
import { WindowCloser } from './window-closer';
import { WindowPublisher } from './window-publisher';
import { WindowsController } from './windows.controller';
import { WindowsRepository } from './windows.repository';
import { WindowsService } from './windows.service';

/** Aggregation windows in Postgres: the closer that fills them, GET /v1/windows, their changes. */
@Module({
  imports: [LockModule, WindowStoreModule, RedisEpochModule, LiveModule],
  controllers: [WindowsController],
  providers: [WindowsRepository, WindowsService, WindowPublisher, WindowCloser],
  exports: [WindowStoreModule, WindowsService, WindowPublisher],
})
export class WindowsModule {}
