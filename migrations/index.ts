import { InitialSchema1763740800000 } from './1763740800000-InitialSchema';
import { Quotas1795303058721 } from './1795303058721-Quotas';
import { RowLevelSecurity1795390000000 } from './1795390000000-RowLevelSecurity';
import { ApiKeyRateLimits1795480000000 } from './1795480000000-ApiKeyRateLimits';
import { RedisEpoch1795560000000 } from './1795560000000-RedisEpoch';
import { UsageRollups1795570000000 } from './1795570000000-UsageRollups';
import { SerialRollupWrites1795580000000 } from './1795580000000-SerialRollupWrites';

/** Every migration, in order; listed explicitly so the runner never depends on a glob. */
export const migrations = [
  InitialSchema1763740800000,
  Quotas1795303058721,
  RowLevelSecurity1795390000000,
  ApiKeyRateLimits1795480000000,
  RedisEpoch1795560000000,
  UsageRollups1795570000000,
  SerialRollupWrites1795580000000,
];
