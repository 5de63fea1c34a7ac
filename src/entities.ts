import { AggregationWindow } from './windows/aggregation-window.entity';
import { UsageRollup, UsageRollupBreakdown } from './analytics/usage-rollup.entity';
import { UsageEvent } from './persistence/usage-event.entity';
import { Quota } from './quotas/quota.entity';
import { ApiKey } from './api-keys/api-key.entity';
import { Customer } from './customers/customer.entity';
import { Tenant } from './tenants/tenant.entity';

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
