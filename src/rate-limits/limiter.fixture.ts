import type { Redis } from 'ioredis';
import { loadConfig } from '../config/load-config';
import { REQUIRED_ENV } from '../config/required-env.fixture';
import { Metrics } from '../infra/metrics/metrics';
import { RateLimiter } from './rate-limiter';
import type { LimitRule } from './limiter-math';

export const NOW = 1_795_303_058_721;
export const HOUR = 3_600_000;
export const windowOf = (rule: LimitRule) => Math.floor(NOW / rule.periodMs);

/** A limiter whose script is `script`, at NOW, with the env's settings over the required ones. */
export function limiter(
  script: (...args: unknown[]) => Promise<unknown>,
  env: Record<string, string> = {},
  metrics = new Metrics(),
  status = 'ready',
) {
  const config = loadConfig({
    ...REQUIRED_ENV,
    QUOTA_REDIS_TIMEOUT_MS: '20',
    ...env,
  });
  const redis = { status, defineCommand: () => undefined, tallyLimit: script, del: script };
  return new RateLimiter(redis as unknown as Redis, config, { now: () => NOW }, metrics);
}
