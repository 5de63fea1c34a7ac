import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { QuotaKeys } from '../infra/redis/redis-keys';
import { RateLimiter } from './rate-limiter';

/** The limiter: rules charged atomically in Redis on its own connection (docs/quotas.md). */
@Module({
  providers: [
    {
      provide: QuotaKeys,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new QuotaKeys(config.redisKeyPrefix),
    },
    RateLimiter,
  ],
  exports: [QuotaKeys, RateLimiter],
})
export class RateLimitsModule {}
