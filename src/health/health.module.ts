import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SpoolModule } from '../infra/spool/spool.module';
import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), SpoolModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
