import { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations';
import { AggregationWindow } from '../aggregation/aggregation-window.entity';
import { Quota } from '../quota/quota.entity';
import { ApiKey } from '../tenancy/api-key.entity';
import { Customer } from '../tenancy/customer.entity';
import { Tenant } from '../tenancy/tenant.entity';
import { UsageEvent } from './usage-event.entity';

export const entities = [Tenant, ApiKey, Customer, UsageEvent, AggregationWindow, Quota];

export function dataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    extra: { max: poolSize, application_name: 'tally' },
  };
}
