import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { APP_DB_ROLE, dataSourceOptions } from './data-source';
import { migrateAsOwner } from './run-migrations';
import { PoolMetrics } from './pool-metrics';
import { SystemDatabase } from './system-database';
import { TenantDatabase } from './tenant-database';

/**
 * The service's pool runs as the application role, so row-level security applies to
 * every query it sends; migrations run first, as the owner, before any provider can use
 * the pool. Everything else reaches Postgres through TenantDatabase or SystemDatabase.
 */
@Global()
@Module({})
export class DatabaseModule {
  /** `entities`: every feature's, listed by the composition root (src/entities.ts). */
  static forRoot(entities: NonNullable<DataSourceOptions['entities']>): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) =>
            dataSourceOptions(config.databaseUrl, {
              entities,
              poolSize: config.databasePoolSize,
              role: APP_DB_ROLE,
              connectTimeoutMs: config.databaseConnectTimeoutMs,
            }),
          dataSourceFactory: async (options) => {
            const { url } = options as { url: string };
            await migrateAsOwner(url);
            return new DataSource(options!).initialize();
          },
        }),
      ],
      providers: [TenantDatabase, SystemDatabase, PoolMetrics],
      exports: [TenantDatabase, SystemDatabase],
    };
  }
}
