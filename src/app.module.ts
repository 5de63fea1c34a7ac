import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AnalyticsModule } from './analytics/analytics.module';
import { ApiKeyLimitsModule } from './api-key-limits/api-key-limits.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { ProblemFilter } from './common/errors/problem.filter';
import { type AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { CustomersModule } from './customers/customers.module';
import { entities } from './entities';
import { HealthModule } from './health/health.module';
import { DatabaseModule } from './infra/database/database.module';
import { JobsModule } from './infra/jobs/jobs.module';
import { MetricsRegistryModule } from './infra/metrics/metrics-registry.module';
import { RedisModule } from './infra/redis/redis.module';
import { IngestionModule } from './ingestion/ingestion.module';
import { LiveModule } from './live/live.module';
import { MetricsModule } from './metrics/metrics.module';
import { PersistenceModule } from './persistence/persistence.module';
import { QuotasModule } from './quotas/quotas.module';
import { RedisEpochModule } from './redis-epoch/redis-epoch.module';
import { TenantsModule } from './tenants/tenants.module';
import { WindowsModule } from './windows/windows.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        JobsModule,
        MetricsRegistryModule,
        MetricsModule,
        DatabaseModule.forRoot(entities),
        RedisModule,
        // In this order, the routes (and the OpenAPI document's paths) keep the order
        // they had in one module: tenants, API keys, tokens, customers.
        TenantsModule,
        ApiKeysModule,
        AuthModule,
        CustomersModule,
        LiveModule,
        RedisEpochModule,
        WindowsModule,
        PersistenceModule,
        IngestionModule,
        HealthModule,
        ApiKeyLimitsModule,
        QuotasModule,
        AnalyticsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
