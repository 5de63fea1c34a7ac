import { Global, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { rejectCommandsDroppedOnReconnect } from './reject-dropped-commands';
import {
  ANALYTICS_VERSIONS_REDIS,
  LIMITER_REDIS,
  PERSISTENCE_REDIS,
  QUOTA_CHANGES_REDIS,
  REDIS,
  SUBSCRIBER_REDIS,
} from './redis.tokens';

/**
 * `lazyConnect`: no connection until the first command, for a client a role may never
 * use. `offlineQueue: false`: a command that cannot be written at once fails at once.
 * `autoPipelining`: commands issued in the same event-loop turn leave in one write.
 * `commandTimeoutMs`: a command with no answer by then fails ("Command timed out"),
 * connected or not: a stalled Redis (paused, swapping, a long script) keeps the socket
 * open, so only a timer ends the wait. Redis may still run the command later.
 */
export function createRedis(
  config: AppConfig,
  name: string,
  {
    lazyConnect = false,
    offlineQueue = true,
    autoPipelining = false,
    commandTimeoutMs,
  }: {
    lazyConnect?: boolean;
    offlineQueue?: boolean;
    autoPipelining?: boolean;
    commandTimeoutMs?: number;
  } = {},
): Redis {
  const logger = new Logger(`Redis:${name}`);
  const client = new Redis(config.redisUrl, {
    lazyConnect,
    connectionName: `tally:${config.instanceId}:${name}`,
    // Fail a command fast while disconnected instead of queueing it forever: the
    // caller turns the error into a 503 with Retry-After, never a silent hang.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: offlineQueue,
    // A command in flight when the connection drops is not sent again on reconnect: its
    // caller has had its answer (a timeout: 503 or fail-open) and a resent limiter script
    // would charge units for it after all. Ingest scripts are safe either way (dedup).
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: autoPipelining,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  client.on('error', (err: Error) => logger.warn(`connection error: ${err.message}`));
  rejectCommandsDroppedOnReconnect(client);
  return client;
}

/**
 * Every command on a request path has a bound: the shared connection (ingest scripts,
 * the readiness ping, and the closer's and locks' commands) REDIS_COMMAND_TIMEOUT_MS, the
 * limiter's QUOTA_REDIS_TIMEOUT_MS, the bound the quota check already promised (the
 * limiter also races its calls against it, and checks the connection first). The
 * persistence worker's and the Pub/Sub subscribers' own connections have none:
 * no request waits on them, and a worker read abandoned by a timer would leave its
 * entries pending until claimed. Commands dropped unsettled by a quick reconnect are
 * rejected on every connection (reject-dropped-commands.ts).
 */
const CONNECTIONS = [
  REDIS,
  LIMITER_REDIS,
  SUBSCRIBER_REDIS,
  PERSISTENCE_REDIS,
  QUOTA_CHANGES_REDIS,
  ANALYTICS_VERSIONS_REDIS,
];

/** A connection opened by its first command (the Pub/Sub ones by their SUBSCRIBE). */
function lazy(token: symbol, name: string) {
  return {
    provide: token,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => createRedis(config, name, { lazyConnect: true }),
  };
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        createRedis(config, 'commands', { commandTimeoutMs: config.redisCommandTimeoutMs }),
    },
    {
      provide: LIMITER_REDIS,
      inject: [APP_CONFIG],
      // Auto-pipelining here only: the quota checks read in one loop turn share a write and
      // Redis reads them at once (a quarter to a third less Redis CPU per check,
      // docs/performance.md), while the ingest path ran 1.17× faster at the median without it.
      useFactory: (config: AppConfig) =>
        createRedis(config, 'limiter', {
          offlineQueue: false,
          autoPipelining: true,
          commandTimeoutMs: config.quota.redisTimeoutMs,
        }),
    },
    lazy(SUBSCRIBER_REDIS, 'subscriber'),
    lazy(PERSISTENCE_REDIS, 'persistence'),
    lazy(QUOTA_CHANGES_REDIS, 'quota-changes'),
    lazy(ANALYTICS_VERSIONS_REDIS, 'analytics-versions'),
  ],
  exports: CONNECTIONS,
})
export class RedisModule implements OnApplicationShutdown {
  constructor(private readonly moduleRef: ModuleRef) {}

  /** After every beforeApplicationShutdown hook: the loops using a connection have stopped. */
  async onApplicationShutdown(): Promise<void> {
    const clients = CONNECTIONS.map((token) => this.moduleRef.get<Redis>(token));
    // A lazy connection never used has nothing to quit (quit would connect it first).
    for (const client of clients) if (client.status === 'wait') client.disconnect();
    await Promise.all(
      clients
        .filter((client) => client.status !== 'end')
        .map((client) => client.quit().catch(() => client.disconnect())),
    );
  }
}
