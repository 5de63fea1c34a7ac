import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { ApiKeyRate, AppConfig, AppProfile, AppRole, LogLevel } from './app-config';
import { CHECKED_SECRETS, DEVELOPMENT_SECRETS } from './development-secrets';
import { ConfigError, parseEncryptionKeys, parseNetworks, parseOrigins } from './env-parsers';
import { envSchema, RawEnv } from './env.schema';

/** What each profile means when LOG_LEVEL, LOG_REQUESTS or DOCS_ENABLED is not set. */
export const PROFILE_DEFAULTS: Record<
  AppProfile,
  { logLevel: LogLevel; logRequests: boolean; docs: boolean }
> = {
  dev: { logLevel: 'debug', logRequests: true, docs: true },
  test: { logLevel: 'warn', logRequests: false, docs: true },
  prod: { logLevel: 'info', logRequests: false, docs: false },
};

const validate = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false }).compile(
  envSchema,
);

/** Validates the environment and builds the config; throws one line naming the bad variable. */
export function loadConfig(raw: RawEnv): AppConfig {
  const env: Record<string, unknown> = {};
  for (const key of Object.keys(envSchema.properties)) {
    const value = raw[key];
    if (value !== undefined && value !== '') env[key] = value;
  }
  if (!validate(env)) {
    const [error] = validate.errors ?? [];
    const name =
      error?.instancePath.slice(1) || String(error?.params?.missingProperty ?? 'environment');
    const reason = error?.keyword === 'required' ? 'is required' : (error?.message ?? 'is invalid');
    throw new ConfigError(`Invalid configuration: ${name} ${reason}`);
  }
  if (env.APP_PROFILE === 'prod') refuseDevelopmentSecrets(env);
  return toConfig(env);
}

/** The repository's local secrets are public: production must bring its own. */
function refuseDevelopmentSecrets(env: Record<string, unknown>): void {
  for (const name of CHECKED_SECRETS) {
    if (DEVELOPMENT_SECRETS.has(env[name] as string)) {
      throw new ConfigError(
        `Invalid configuration: ${name} is a development secret; APP_PROFILE=prod needs its own`,
      );
    }
  }
  if (DEVELOPMENT_SECRETS.has(passwordOf(env.DATABASE_URL as string))) {
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL has a development password; APP_PROFILE=prod needs its own',
    );
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function toConfig(e: Record<string, unknown>): AppConfig {
  const num = (k: string) => e[k] as number;
  const str = (k: string) => e[k] as string;
  const window = {
    ms: num('WINDOW_SECONDS') * 1000,
    graceMs: num('WINDOW_GRACE_SECONDS') * 1000,
    maxLatenessMs: num('MAX_LATENESS_SECONDS') * 1000,
    retentionMarginMs: num('DEDUP_TTL_SECONDS') * 1000,
  };
  if (window.maxLatenessMs < window.graceMs) {
    throw new ConfigError(
      'Invalid configuration: MAX_LATENESS_SECONDS must be at least WINDOW_GRACE_SECONDS',
    );
  }
  const profile = str('APP_PROFILE') as AppProfile;
  const defaults = PROFILE_DEFAULTS[profile];
  return {
    port: num('PORT'),
    host: str('HOST'),
    role: str('APP_ROLE') as AppRole,
    profile,
    log: {
      level: (e.LOG_LEVEL as LogLevel | undefined) ?? defaults.logLevel,
      requests: (e.LOG_REQUESTS as boolean | undefined) ?? defaults.logRequests,
    },
    docsEnabled: (e.DOCS_ENABLED as boolean | undefined) ?? defaults.docs,
    http: {
      requestTimeoutMs: num('HTTP_REQUEST_TIMEOUT_MS'),
      trustedProxies:
        e.TRUST_PROXY === undefined ? null : parseNetworks('TRUST_PROXY', str('TRUST_PROXY')),
      corsOrigins:
        e.CORS_ORIGINS === undefined ? null : parseOrigins('CORS_ORIGINS', str('CORS_ORIGINS')),
    },
    tracing:
      e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
        ? null
        : { endpoint: str('OTEL_EXPORTER_OTLP_ENDPOINT'), serviceName: str('OTEL_SERVICE_NAME') },
    instanceId: (e.INSTANCE_ID as string | undefined) ?? defaultInstanceId(),
    databaseUrl: str('DATABASE_URL'),
    databasePoolSize: num('DATABASE_POOL_SIZE'),
    databaseConnectTimeoutMs: num('DATABASE_CONNECT_TIMEOUT_MS'),
    devPostgresDir: str('DEV_POSTGRES_DIR'),
    redisUrl: str('REDIS_URL'),
    redisKeyPrefix: str('REDIS_KEY_PREFIX'),
    redisCommandTimeoutMs: num('REDIS_COMMAND_TIMEOUT_MS'),
    redisEpochCheckMs: num('REDIS_EPOCH_CHECK_MS'),
    adminToken: str('ADMIN_TOKEN'),
    adminAllowedNetworks:
      e.ADMIN_ALLOWED_IPS === undefined
        ? null
        : parseNetworks('ADMIN_ALLOWED_IPS', str('ADMIN_ALLOWED_IPS')),
    apiKeySecret: str('API_KEY_SECRET'),
    apiKeyCacheMs: num('API_KEY_CACHE_SECONDS') * 1000,
    apiKeyStaleMs: num('API_KEY_STALE_SECONDS') * 1000,
    unknownKeyBudget:
      num('UNKNOWN_KEY_LIMIT') === 0
        ? null
        : { limit: num('UNKNOWN_KEY_LIMIT'), periodMs: num('UNKNOWN_KEY_PERIOD_SECONDS') * 1000 },
    jwt: { secret: str('JWT_SECRET'), ttlSeconds: num('JWT_TTL_SECONDS') },
    encryption: parseEncryptionKeys(
      str('ENCRYPTION_KEY'),
      str('ENCRYPTION_KEY_ID'),
      e.ENCRYPTION_PREVIOUS_KEYS as string | undefined,
    ),
    shards: num('SHARDS'),
    window,
    ingest: {
      maxEventsPerRequest: num('INGEST_MAX_EVENTS_PER_REQUEST'),
      bodyLimitBytes: num('INGEST_BODY_LIMIT_BYTES'),
      metadataLimitBytes: num('INGEST_METADATA_LIMIT_BYTES'),
      batchDelayMs: num('INGEST_BATCH_DELAY_MS'),
      batchMaxEvents: num('INGEST_BATCH_MAX_EVENTS'),
      maxFutureSkewMs: num('INGEST_MAX_FUTURE_SKEW_SECONDS') * 1000,
      retentionMs: num('RETENTION_DAYS') * 86_400_000,
      streamHighWater: num('STREAM_HIGH_WATER'),
    },
    persistence: {
      readCount: num('PERSIST_READ_COUNT'),
      idleDelayMs: num('PERSIST_IDLE_DELAY_MS'),
      claimIdleMs: num('PERSIST_CLAIM_IDLE_MS'),
      partitionDaysAhead: num('PARTITION_DAYS_AHEAD'),
    },
    closer: {
      intervalMs: num('CLOSER_INTERVAL_MS'),
      batchWindows: num('CLOSER_BATCH_WINDOWS'),
    },
    lock: {
      ttlMs: num('LOCK_TTL_MS'),
      retryCount: num('LOCK_RETRY_COUNT'),
      retryDelayMs: num('LOCK_RETRY_DELAY_MS'),
      retryJitterMs: num('LOCK_RETRY_JITTER_MS'),
    },
    shutdownTimeoutMs: num('SHUTDOWN_TIMEOUT_MS'),
    quota: {
      failurePolicy: str('QUOTA_FAILURE_POLICY') as 'open' | 'closed',
      cacheMs: num('QUOTA_CACHE_SECONDS') * 1000,
      staleMs: num('QUOTA_STALE_SECONDS') * 1000,
      redisTimeoutMs: num('QUOTA_REDIS_TIMEOUT_MS'),
      apiKeyRates: {
        requests: rate(e, 'API_KEY_RATE_LIMIT', 'API_KEY_RATE_PERIOD_SECONDS'),
        events: rate(e, 'API_KEY_EVENT_RATE_LIMIT', 'API_KEY_EVENT_RATE_PERIOD_SECONDS'),
      },
      apiKeyAlgorithm: str('API_KEY_RATE_ALGORITHM') as AppConfig['quota']['apiKeyAlgorithm'],
    },
    spool: {
      enabled: e.SPOOL_ENABLED as boolean,
      dir: resolve(str('SPOOL_DIR')),
      maxBytes: num('SPOOL_MAX_BYTES'),
    },
    analytics: {
      cacheTtlMs: num('ANALYTICS_CACHE_TTL_SECONDS') * 1000,
      localEntries: num('ANALYTICS_LOCAL_CACHE_ENTRIES'),
      localTtlMs: num('ANALYTICS_LOCAL_CACHE_SECONDS') * 1000,
      prewarmDelayMs: num('ANALYTICS_PREWARM_DELAY_MS'),
      maxBuckets: num('ANALYTICS_MAX_BUCKETS'),
      maxRows: num('ANALYTICS_MAX_ROWS'),
    },
    live: {
      heartbeatMs: num('LIVE_HEARTBEAT_SECONDS') * 1000,
      coalesceMs: num('LIVE_COALESCE_MS'),
      historyMs: num('LIVE_HISTORY_SECONDS') * 1000,
      historyMaxEvents: num('LIVE_HISTORY_MAX_EVENTS'),
      maxStreamsPerTenant: num('LIVE_MAX_STREAMS_PER_TENANT'),
      clientBufferBytes: num('LIVE_CLIENT_BUFFER_BYTES'),
      ticketTtlSeconds: num('LIVE_TICKET_TTL_SECONDS'),
    },
  };
}

function rate(e: Record<string, unknown>, limit: string, period: string): ApiKeyRate | null {
  return e[limit] === 0 ? null : { limit: e[limit] as number, periodSeconds: e[period] as number };
}

function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
