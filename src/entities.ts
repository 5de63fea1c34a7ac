import { AggregationWindow } from './aggregation/aggregation-window.entity';
import { UsageRollup, UsageRollupBreakdown } from './analytics/usage-rollup.entity';
import { UsageEvent } from './persistence/usage-event.entity';
import { Quota } from './quota/quota.entity';
import { ApiKey } from './tenancy/api-key.entity';
import { Customer } from './tenancy/customer.entity';
import { Tenant } from './tenancy/tenant.entity';

/** Every TypeORM entity of the service, for the data sources the composition root builds. */
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
