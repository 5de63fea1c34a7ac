export type AppRole = 'all' | 'api' | 'worker';
export type AppProfile = 'dev' | 'test' | 'prod';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The one typed configuration object, built once from the environment at boot. */
export interface AppConfig {
  port: number;
  host: string;
  role: AppRole;
  profile: AppProfile;
  log: {
    level: LogLevel;
    /** One info line per request (route, status, time); otherwise only what code logs. */
    requests: boolean;
  };
  /** Serve the OpenAPI document and Swagger UI at /docs-json and /docs. */
  docsEnabled: boolean;
  instanceId: string;
  databaseUrl: string;
  databasePoolSize: number;
  /** The longest a query waits for a pool connection (a new one, or a busy pool's) before it is a 503. */
  databaseConnectTimeoutMs: number;
  /**
   * APP_PROFILE=dev with nothing answering at a loopback DATABASE_URL: where the embedded
   * Postgres started in its place keeps its data (src/first-run).
   */
  devPostgresDir: string;
  redisUrl: string;
  /** Namespaces every Redis key and channel, so tests (and tenants of one Redis) can share it. */
  redisKeyPrefix: string;
  /**
   * A command on the shared connection with no answer within this fails (the request
   * answers 503 + Retry-After) instead of waiting for a stalled Redis.
   */
  redisCommandTimeoutMs: number;
  adminToken: string;
  /** Where operator (X-Admin-Token) calls may come from; null: anywhere. */
  adminAllowedNetworks: Network[] | null;
  /** HMAC key for API-key hashes and, through a derived subkey, for email lookup hashes. */
  apiKeySecret: string;
  /** How long an instance trusts what it read about a key: the bound on revocation and deactivation delay. */
  apiKeyCacheMs: number;
  /**
   * While Postgres is unreachable, how old what an instance read about a key may grow and
   * still be trusted; beyond it, 503. Revocations and deactivations wait for Postgres meanwhile.
   */
  apiKeyStaleMs: number;
  jwt: {
    secret: string;
    ttlSeconds: number;
  };
  encryption: EncryptionKeys;
  shards: number;
  window: {
    ms: number;
    graceMs: number;
    maxLatenessMs: number;
    /** How long a window hash and its dedup set outlive max lateness, so a late flush can still read them. */
    retentionMarginMs: number;
  };
  ingest: {
    maxEventsPerRequest: number;
    bodyLimitBytes: number;
    metadataLimitBytes: number;
    batchDelayMs: number;
    batchMaxEvents: number;
    maxFutureSkewMs: number;
    retentionMs: number;
    streamHighWater: number;
  };
  persistence: {
    readCount: number;
    idleDelayMs: number;
    claimIdleMs: number;
    partitionDaysAhead: number;
  };
  closer: {
    intervalMs: number;
    batchWindows: number;
  };
  lock: {
    ttlMs: number;
    retryCount: number;
    retryDelayMs: number;
    retryJitterMs: number;
  };
  shutdownTimeoutMs: number;
  quota: {
    /** What consume answers when Redis cannot be asked: allow unchecked, or 503. */
    failurePolicy: 'open' | 'closed';
    /** How long an instance keeps quota definitions before reading them again. */
    cacheMs: number;
    /** While Postgres is unreachable, how old quota definitions may grow and still be enforced. */
    staleMs: number;
    /** A limiter call slower than this counts as Redis being unreachable. */
    redisTimeoutMs: number;
    /**
     * Per API key: `requests` for management and read routes, `events` for the machine
     * paths (events ingested, quota checks). null when the limit is 0 (off). A key's own
     * limit for a class (api_keys.rate_limits) replaces these.
     */
    apiKeyRates: Record<ApiKeyRateClass, ApiKeyRate | null>;
    apiKeyAlgorithm: 'fixed' | 'sliding';
  };
}

export interface Network {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** AES-256-GCM keys by id: the current one encrypts, any of them decrypts what it wrote. */
export interface EncryptionKeys {
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export type ApiKeyRateClass = 'requests' | 'events';

export interface ApiKeyRate {
  limit: number;
  periodSeconds: number;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Background jobs (persistence worker, closer, partition upkeep) run on `all` and `worker`. */
export function runsJobs(config: AppConfig): boolean {
  return config.role !== 'api';
}
