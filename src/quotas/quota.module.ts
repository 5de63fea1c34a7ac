import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { TenancyModule } from '../auth/auth.module';
import { ApiKeyRateLimitGuard } from '../api-key-limits/api-key-rate-limit.guard';
import { DefinitionChanges } from './definition-changes';
import { QuotaDefinitions } from './quota-definitions';
import { QuotaDefinitionsController } from './quota-definitions.controller';
import { QuotaKeys } from '../infra/redis/redis-keys';
import { QuotaUsageController } from './quota-usage.controller';
import { QuotaRepository } from './quota.repository';
import { QuotaService } from './quota.service';
import { RateLimiter } from '../rate-limits/rate-limiter';

@Module({
  imports: [TenancyModule],
  controllers: [QuotaDefinitionsController, QuotaUsageController],
  providers: [
    {
      provide: QuotaKeys,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new QuotaKeys(config.redisKeyPrefix),
    },
    QuotaRepository,
    DefinitionChanges,
    QuotaDefinitions,
    QuotaService,
    RateLimiter,
    { provide: APP_GUARD, useClass: ApiKeyRateLimitGuard },
  ],
  exports: [QuotaService, RateLimiter],
})
export class QuotaModule {}
