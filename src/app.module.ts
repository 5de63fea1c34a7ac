import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AggregationModule } from './windows/windows.module';
import { AnalyticsModule } from './analytics/analytics.module';
import { ProblemFilter } from './common/errors/problem.filter';
import { type AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { entities } from './entities';
import { HealthModule } from './health/health.module';
import { DatabaseModule } from './infra/database/database.module';
import { MetricsRegistryModule } from './infra/metrics/metrics-registry.module';
import { RedisModule } from './infra/redis/redis.module';
import { IngestionModule } from './ingestion/ingestion.module';
import { LiveModule } from './live/live.module';
import { MetricsModule } from './metrics/metrics.module';
import { PersistenceModule } from './persistence/persistence.module';
import { QuotaModule } from './quotas/quota.module';
import { TenancyModule } from './auth/auth.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ScheduleModule.forRoot(),
        MetricsRegistryModule,
        MetricsModule,
        DatabaseModule.forRoot(entities),
        RedisModule,
        TenancyModule,
        LiveModule,
        AggregationModule,
        PersistenceModule,
        IngestionModule,
        HealthModule,
        QuotaModule,
        AnalyticsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    };
  }
}
