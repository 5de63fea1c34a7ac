import { loadConfig } from './load-config';
import { REQUIRED_ENV } from './required-env.fixture';

const valid: Record<string, string> = { ...REQUIRED_ENV };
const otherKey = Buffer.alloc(32, 2).toString('base64');

describe('loadConfig', () => {
  it('fills defaults and converts units', () => {
    const config = loadConfig({ ...valid, WINDOW_SECONDS: '2', WINDOW_GRACE_SECONDS: '0.5' });
    expect(config.port).toBe(3000);
    expect(config.window).toMatchObject({ ms: 2000, graceMs: 500, maxLatenessMs: 900_000 });
    expect(config.shards).toBe(16);
    expect(config.role).toBe('all');
    expect(config.instanceId).toMatch(/\S+/);
    expect(config.jwt).toEqual({ secret: REQUIRED_ENV.JWT_SECRET, ttlSeconds: 900 });
    expect(config.encryption.currentId).toBe('k1');
    expect(config.encryption.keys.get('k1')).toEqual(Buffer.alloc(32, 1));
    expect(config.adminAllowedNetworks).toBeNull();
    expect(config.http).toEqual({
      requestTimeoutMs: 10_000,
      trustedProxies: null,
      corsOrigins: null,
    });
    expect(config.unknownKeyBudget).toEqual({ limit: 30, periodMs: 60_000 });
  });

  it('reads the proxies to trust and turns the unknown-key budget off at 0', () => {
    const config = loadConfig({ ...valid, TRUST_PROXY: '10.0.0.0/8,::1', UNKNOWN_KEY_LIMIT: '0' });
    expect(config.http.trustedProxies).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
    ]);
    expect(config.unknownKeyBudget).toBeNull();
  });

  it('reads CORS origins and the tracing endpoint, both off when unset', () => {
    expect(loadConfig(valid).http.corsOrigins).toBeNull();
    expect(loadConfig(valid).tracing).toBeNull();
    const config = loadConfig({
      ...valid,
      CORS_ORIGINS: 'https://app.example.com/, http://localhost:5173',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.tracing).toEqual({ endpoint: 'http://collector:4318', serviceName: 'tally' });
    expect(loadConfig({ ...valid, CORS_ORIGINS: '*' }).http.corsOrigins).toBe('*');
  });

  it('reads the live stream settings, in milliseconds where they are times', () => {
    expect(loadConfig(valid).live).toEqual({
      heartbeatMs: 15_000,
      coalesceMs: 1000,
      historyMs: 300_000,
      historyMaxEvents: 10_000,
      maxStreamsPerTenant: 100,
      clientBufferBytes: 262_144,
      ticketTtlSeconds: 60,
    });
    const set = loadConfig({ ...valid, LIVE_HEARTBEAT_SECONDS: '2.5', LIVE_HISTORY_SECONDS: '60' });
    expect(set.live).toMatchObject({ heartbeatMs: 2500, historyMs: 60_000 });
    expect(() => loadConfig({ ...valid, LIVE_HEARTBEAT_SECONDS: '61' })).toThrow(
      'LIVE_HEARTBEAT_SECONDS',
    );
  });

  it('reads the previous encryption keys and the operator networks', () => {
    const config = loadConfig({
      ...valid,
      ENCRYPTION_KEY: otherKey,
      ENCRYPTION_KEY_ID: 'k2',
      ENCRYPTION_PREVIOUS_KEYS: `k1:${valid.ENCRYPTION_KEY}`,
      ADMIN_ALLOWED_IPS: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8, 2001:DB8:0:0::1',
    });
    expect([...config.encryption.keys.keys()]).toEqual(['k2', 'k1']);
    expect(config.adminAllowedNetworks).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
      { address: '2001:db8::1', prefix: 128, family: 'ipv6' },
    ]);
  });

  it.each([
    [{ DATABASE_URL: undefined }, 'Invalid configuration: DATABASE_URL is required'],
    [{ REDIS_URL: 'http://x' }, 'Invalid configuration: REDIS_URL must match pattern'],
    [{ PORT: 'eighty' }, 'Invalid configuration: PORT must be integer'],
    [
      { APP_ROLE: 'boss' },
      'Invalid configuration: APP_ROLE must be equal to one of the allowed values',
    ],
    [
      { ADMIN_TOKEN: 'short' },
      'Invalid configuration: ADMIN_TOKEN must NOT have fewer than 16 characters',
    ],
    [{ JWT_SECRET: undefined }, 'Invalid configuration: JWT_SECRET is required'],
    [
      { JWT_SECRET: 'short' },
      'Invalid configuration: JWT_SECRET must NOT have fewer than 32 characters',
    ],
    [{ ENCRYPTION_KEY: undefined }, 'Invalid configuration: ENCRYPTION_KEY is required'],
    [
      { ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') },
      'Invalid configuration: ENCRYPTION_KEY must be 32 bytes in base64',
    ],
    [
      { ENCRYPTION_KEY: `${otherKey.slice(0, -2)}!=` },
      'Invalid configuration: ENCRYPTION_KEY must be 32 bytes in base64',
    ],
    [
      { ENCRYPTION_PREVIOUS_KEYS: `k1:${otherKey}` },
      'Invalid configuration: ENCRYPTION_PREVIOUS_KEYS must be id:key pairs',
    ],
    [
      { ENCRYPTION_PREVIOUS_KEYS: 'k0' },
      'Invalid configuration: ENCRYPTION_PREVIOUS_KEYS must be id:key pairs',
    ],
    [
      { ENCRYPTION_PREVIOUS_KEYS: 'k0:abc' },
      'Invalid configuration: ENCRYPTION_PREVIOUS_KEYS must be 32 bytes in base64',
    ],
    [
      { ADMIN_ALLOWED_IPS: '10.0.0.0/8, example.com' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry 'example.com'",
    ],
    [
      { ADMIN_ALLOWED_IPS: '10.0.0.0/33' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad prefix in '10.0.0.0/33'",
    ],
    [
      { ADMIN_ALLOWED_IPS: '10.0.0.0/8/1' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry '10.0.0.0/8/1'",
    ],
    [{ TRUST_PROXY: 'nginx' }, "Invalid configuration: TRUST_PROXY has a bad entry 'nginx'"],
    [
      { CORS_ORIGINS: 'https://app.example.com/path' },
      "Invalid configuration: CORS_ORIGINS has 'https://app.example.com/path', not an origin",
    ],
    [{ CORS_ORIGINS: '*, https://a.example' }, "CORS_ORIGINS has '*', not an origin"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT must match'],
    [
      { HTTP_REQUEST_TIMEOUT_MS: '50' },
      'Invalid configuration: HTTP_REQUEST_TIMEOUT_MS must be >= 100',
    ],
    // Forms ipaddr.js's lenient parser accepts, refused: one decimal part, hex, octal, a zone.
    [{ ADMIN_ALLOWED_IPS: '10' }, "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry '10'"],
    [
      { ADMIN_ALLOWED_IPS: '0x0a.0.0.1' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry '0x0a.0.0.1'",
    ],
    [
      { ADMIN_ALLOWED_IPS: '010.0.0.1/8' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry '010.0.0.1/8'",
    ],
    [
      { ADMIN_ALLOWED_IPS: 'fe80::1%eth0' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad entry 'fe80::1%eth0'",
    ],
    [
      { ADMIN_ALLOWED_IPS: 'fd00::/129' },
      "Invalid configuration: ADMIN_ALLOWED_IPS has a bad prefix in 'fd00::/129'",
    ],
    [
      { MAX_LATENESS_SECONDS: '1', WINDOW_GRACE_SECONDS: '5' },
      'Invalid configuration: MAX_LATENESS_SECONDS must be at least WINDOW_GRACE_SECONDS',
    ],
  ])('stops on %j with one line naming the variable', (override, message) => {
    expect(() => loadConfig({ ...valid, ...override })).toThrow(message);
  });

  it.each([
    ['dev', { level: 'debug', requests: true }, true],
    ['test', { level: 'warn', requests: false }, true],
    ['prod', { level: 'info', requests: false }, false],
  ])('gives the %s profile its log level, request lines and docs', (profile, log, docs) => {
    const config = loadConfig({ ...valid, APP_PROFILE: profile });
    expect(config.log).toEqual(log);
    expect(config.docsEnabled).toBe(docs);
  });

  it('lets LOG_LEVEL, LOG_REQUESTS and DOCS_ENABLED override the profile', () => {
    const config = loadConfig({
      ...valid,
      APP_PROFILE: 'prod',
      LOG_LEVEL: 'debug',
      LOG_REQUESTS: 'true',
      DOCS_ENABLED: 'true',
    });
    expect(config.log).toEqual({ level: 'debug', requests: true });
    expect(config.docsEnabled).toBe(true);
    expect(loadConfig({ ...valid, DOCS_ENABLED: 'false' }).docsEnabled).toBe(false);
    expect(() => loadConfig({ ...valid, LOG_LEVEL: 'loud' })).toThrow(
      'Invalid configuration: LOG_LEVEL must be equal to one of the allowed values',
    );
    expect(() => loadConfig({ ...valid, LOG_REQUESTS: 'sometimes' })).toThrow(
      'Invalid configuration: LOG_REQUESTS must be boolean',
    );
  });

  it('refuses a development database password in prod only', () => {
    const url = 'postgres://tally:tally-local-only@postgres:5432/tally';
    expect(() => loadConfig({ ...valid, APP_PROFILE: 'prod', DATABASE_URL: url })).toThrow(
      'Invalid configuration: DATABASE_URL has a development password; APP_PROFILE=prod needs its own',
    );
    expect(loadConfig({ ...valid, DATABASE_URL: url }).databaseUrl).toBe(url);
    const own = 'postgres://tally:s3cr%40t@postgres:5432/tally';
    expect(loadConfig({ ...valid, APP_PROFILE: 'prod', DATABASE_URL: own }).databaseUrl).toBe(own);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ ...valid, PORT: '' }).port).toBe(3000);
  });
});
