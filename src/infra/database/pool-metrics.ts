import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Metrics, type PoolStats } from '../metrics/metrics';

/**
 * Puts the service's Postgres pool (TypeORM's postgres driver keeps the `pg` Pool as
 * `driver.master`) on /metrics as pool "app". The migrations' short-lived pool of two
 * at start is not reported.
 */
@Injectable()
export class PoolMetrics implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    const pool = (this.dataSource.driver as unknown as { master?: PoolStats }).master;
    if (typeof pool?.totalCount !== 'number') {
      throw new Error(
        'TypeORM no longer exposes the pg Pool as driver.master; see pool-metrics.ts',
      );
    }
    this.metrics.watchPool('app', pool);
  }
}
