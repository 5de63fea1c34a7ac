import { connect } from 'node:net';
import type { Logger } from 'pino';
import { Client } from 'pg';
import type { AppConfig } from '../config/app-config';
import { canEmbedPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { FirstRunError } from './first-run-error';

const PROBE_TIMEOUT_MS = 1000;
const DUPLICATE_DATABASE = '42P04';

const START_REDIS = "Redis (Debian's redis-server, or `docker compose up -d redis-local`)";
const START_POSTGRES =
  "Postgres (Debian's postgresql; APP_PROFILE=dev starts an embedded one for a loopback DATABASE_URL)";

/**
 * What `npm run start:dev` needs on a fresh machine, for the dev and test profiles only
 * (main.ts never loads this module with APP_PROFILE=prod, where a missing database is an
 * operator's error, not something to paper over):
 *
 * - When a service does not answer, say in one line what to start, instead of ten
 *   connection retries and a stack trace: in dev, for either; in test, only when neither
 *   answers, since a test may start an instance during an outage on purpose.
 * - In the dev profile, with nothing at a loopback DATABASE_URL, start an embedded
 *   Postgres there (embedded-postgres, a devDependency) with its data in DEV_POSTGRES_DIR;
 *   not while Redis is missing, since the start would stop there anyway.
 * - Create DATABASE_URL's database if it does not exist.
 */
export async function prepareLocalServices(config: AppConfig, log: Logger): Promise<void> {
  const postgres = endpoint(config.databaseUrl, 5432);
  const redis = endpoint(config.redisUrl, 6379);
  const [postgresAnswers, redisAnswers] = await Promise.all([answers(postgres), answers(redis)]);
  const dev = config.profile === 'dev';
  const embed = !postgresAnswers && dev && canEmbedPostgres(postgres.host);

  const missing = [
    ...(postgresAnswers || embed ? [] : [{ at: postgres.label, start: START_POSTGRES }]),
    ...(redisAnswers ? [] : [{ at: redis.label, start: START_REDIS }]),
  ];
  const neither = !postgresAnswers && !redisAnswers;
  if (missing.length > 0 && (dev || neither)) {
    throw new FirstRunError(
      `Cannot start: nothing answers at ${missing.map(({ at }) => at).join(' or ')}. ` +
        `Start ${missing.map(({ start }) => start).join(' and ')}.`,
    );
  }
  if (embed) {
    log.info(
      { dir: config.devPostgresDir },
      `nothing answers at ${postgres.label}: starting an embedded Postgres there`,
    );
    await startEmbeddedPostgres(config.databaseUrl, config.devPostgresDir, postgres);
  }
  if (postgresAnswers || embed) {
    // A refusal here (a wrong password, no right to create databases) is left to the
    // normal start to report, as it would have without this step.
    await createDatabaseIfMissing(config.databaseUrl, log).catch((error: Error) =>
      log.warn(`could not check or create the database: ${error.message}`),
    );
  }
}

interface Endpoint {
  host: string;
  port: number;
  /** `host:port (VARIABLE)`, for messages. */
  label: string;
}

function endpoint(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = Number(parsed.port || defaultPort);
  const variable = parsed.protocol.startsWith('redis') ? 'REDIS_URL' : 'DATABASE_URL';
  return { host, port, label: `${host}:${port} (${variable})` };
}

/** Whether anything accepts a TCP connection there: enough to tell "not started" apart. */
function answers({ host, port }: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * Through the server's `postgres` database, as the URL's user. Two instances starting at
 * once may both find it missing: the second CREATE fails with duplicate_database, which is
 * the outcome wanted.
 */
async function createDatabaseIfMissing(url: string, log: Logger): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({
    connectionString: maintenance.toString(),
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).then(
        () => log.info({ database: name }, 'created the database (APP_PROFILE dev/test)'),
        (error: { code?: string }) => {
          if (error.code !== DUPLICATE_DATABASE) throw error;
        },
      );
    }
  } finally {
    await client.end();
  }
}
