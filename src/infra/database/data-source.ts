import { DataSourceOptions } from 'typeorm';
import { migrations } from '../../../migrations';
import { AggregationWindow } from '../../aggregation/aggregation-window.entity';
import { UsageRollup, UsageRollupBreakdown } from '../../analytics/usage-rollup.entity';
import { Quota } from '../../quota/quota.entity';
import { ApiKey } from '../../tenancy/api-key.entity';
import { Customer } from '../../tenancy/customer.entity';
import { Tenant } from '../../tenancy/tenant.entity';
import { UsageEvent } from '../../persistence/usage-event.entity';

export const entities = [
  Tenant,
  ApiKey,
  Customer,
  UsageEvent,
  AggregationWindow,
  Quota,
  UsageRollup,
  UsageRollupBreakdown,
];

/** The role the service's queries run as: subject to row-level security (migration RowLevelSecurity). */
export const APP_DB_ROLE = 'tally_app';
/** The role of work across tenants, taken for one transaction at a time by SystemDatabase. */
export const SYSTEM_DB_ROLE = 'tally_system';

/**
 * Without `role`, connections act as the user of the URL (the owner: migrations, seeds).
 * With it, every connection of the pool switches to that role as it opens, before the
 * pool hands it out, so no query of the service ever runs with the owner's rights.
 * `connectTimeoutMs` bounds the wait for a connection, new or from a busy pool (pg's
 * default is to wait forever).
 */
export function dataSourceOptions(
  url: string,
  poolSize = 10,
  role?: string,
  connectTimeoutMs?: number,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    // Extensions are the migrations' business; the application role may not create them.
    installExtensions: role === undefined,
    extra: {
      max: poolSize,
      application_name: 'tally',
      ...(connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: connectTimeoutMs }),
      ...(role === undefined ? {} : { options: `-c role=${role}` }),
    },
  };
}
