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
  http: {
    /** A request must arrive whole (headers and body) within this, or it is answered 408. */
    requestTimeoutMs: number;
    /** Proxies whose X-Forwarded-For names the client; null: the TCP peer is the client. */
    trustedProxies: Network[] | null;
    /**
     * Browser origins allowed to call the API cross-origin (CORS), or `*` for any; null: no
     * CORS at all (an OPTIONS preflight is a 404).
     */
    corsOrigins: string[] | '*' | null;
  };
  /** OpenTelemetry tracing (src/common/tracing); null: off, the SDK never loaded. */
  tracing: { endpoint: string; serviceName: string } | null;
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
  /** How often each instance checks that Redis still holds the epoch it knows (data-loss detection). */
  redisEpochCheckMs: number;
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
  /**
   * Lookups of keys that turn out not to exist, per client address and period, before
   * that address's lookups are refused without asking Postgres. null when the limit is 0 (off).
   */
  unknownKeyBudget: { limit: number; periodMs: number } | null;
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
  /** Where ingestion keeps events while Redis cannot be reached (docs/reliability/spool.md). */
  spool: {
    enabled: boolean;
    /** Absolute; shared by instances is allowed (each works in a directory of its own). */
    dir: string;
    /** Bytes on disk, segments of adopted directories included; beyond it ingestion answers 503. */
    maxBytes: number;
  };
  analytics: {
    /** How long a /v1/usage* answer stays in Redis; a flush makes it unreachable sooner (versions). */
    cacheTtlMs: number;
    /** Answers each instance keeps in memory; 0 turns the local cache off. */
    localEntries: number;
    /** How old a local answer may be when served without asking Redis for its version (Redis unreachable). */
    localTtlMs: number;
    /** After a flush, the tenant's hot answers are recomputed this much later (coalescing flushes); 0: never. */
    prewarmDelayMs: number;
    /** Most buckets one answer may have (refused with 400 above). */
    maxBuckets: number;
    /** Most rows (bucket × group) one answer may have (refused with 400 above). */
    maxRows: number;
  };
  /** The live stream (GET /v1/stream) and its page; docs/live.md. */
  live: {
    heartbeatMs: number;
    /** At most one usage.updated per customer per this interval, across instances. */
    coalesceMs: number;
    /** How long, and how many events, a tenant's history keeps for Last-Event-ID resumes. */
    historyMs: number;
    historyMaxEvents: number;
    maxStreamsPerTenant: number;
    /** Bytes a stream may have waiting to be sent before it is dropped as too slow. */
    clientBufferBytes: number;
    /** Lifetime of a single-use stream ticket (the credential EventSource puts in the URL). */
    ticketTtlSeconds: number;
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
