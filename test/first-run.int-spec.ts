import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRootLogger } from '../src/common/logging/root-logger';
import type { RawEnv } from '../src/config/env.schema';
import { loadConfig } from '../src/config/load-config';
import { FirstRunError } from '../src/first-run/first-run-error';
import { prepareLocalServices } from '../src/first-run/local-services';
import { eventually, TestStack } from './support/harness';
import { buildService, freePort, ServiceProcess } from './support/processes';
import { reachable, withDatabase } from './support/services';

/**
 * The README's run command on a fresh machine: the built service started as
 * `npm run start:dev` starts it (src/first-run, loaded outside prod only).
 */
describe('first run', () => {
  let stack: TestStack;
  const databases: string[] = [];

  beforeAll(async () => {
    buildService();
    stack = await TestStack.create();
  }, 120_000);

  afterAll(async () => {
    for (const name of databases) {
      await stack.pg.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    await stack.dispose();
  });

  /** A database name that does not exist on the shared server, dropped after the file. */
  async function missingDatabase(): Promise<string> {
    const name = `tally_firstrun_${randomBytes(5).toString('hex')}`;
    databases.push(name);
    expect(await exists(name)).toBe(false);
    return name;
  }

  async function exists(name: string): Promise<boolean> {
    const { rowCount } = await stack.pg.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      name,
    ]);
    return rowCount === 1;
  }

  it('dev profile: creates the missing database, migrates it and becomes ready', async () => {
    const name = await missingDatabase();
    const service = new ServiceProcess(await freePort(), {
      ...stack.env,
      APP_PROFILE: 'dev',
      LOG_REQUESTS: 'false',
      DATABASE_URL: withDatabase(stack.env.DATABASE_URL!, name),
    });
    try {
      await service.start();
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
      expect(await exists(name)).toBe(true);
      expect(service.output).toContain('created the database');
    } finally {
      expect(await service.stop('SIGTERM')).toBe(0);
    }
  });

  it('prod profile: never creates a database; the start fails on it as before', async () => {
    const name = await missingDatabase();
    const service = new ServiceProcess(await freePort(), {
      ...stack.env,
      APP_PROFILE: 'prod',
      ADMIN_TOKEN: 'first-run-prod-admin-token',
      API_KEY_SECRET: 'first-run-prod-api-key-secret-0000000000',
      JWT_SECRET: 'first-run-prod-jwt-secret-000000000000000',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: withDatabase(stack.env.DATABASE_URL!, name),
    });
    // Not awaited: it never becomes ready. Its connection retries say why (JSON-escaped).
    void service.start(1000).catch(() => undefined);
    try {
      await eventually(async () =>
        expect(service.output).toContain(`database \\"${name}\\" does not exist`),
      );
      expect(await exists(name)).toBe(false);
      expect(service.output).not.toContain('created the database');
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('says in one line what to start when neither Postgres nor Redis answers', async () => {
    const [postgresPort, redisPort] = [await freePort(), await freePort()];
    const run = promisify(execFile)(process.execPath, ['dist/src/main.js'], {
      env: {
        ...process.env,
        ...stack.env,
        // The test profile: in dev, a loopback URL would get an embedded Postgres instead.
        APP_PROFILE: 'test',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/tally`,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        PORT: String(await freePort()),
      },
    });
    const failure = await run.then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trimEnd().split('\n')).toEqual([
      `Cannot start: nothing answers at 127.0.0.1:${postgresPort} (DATABASE_URL) or ` +
        `127.0.0.1:${redisPort} (REDIS_URL). Start Postgres (Debian's postgresql; ` +
        'APP_PROFILE=dev starts an embedded one for a loopback DATABASE_URL) and Redis ' +
        "(Debian's redis-server, or `docker compose up -d redis-local`).",
    ]);
  });

  describe('prepareLocalServices, in process', () => {
    /** Runs the first-run step on the stack's settings with `env` over them; returns its log. */
    async function prepare(env: RawEnv): Promise<string> {
      const config = loadConfig({ ...stack.env, LOG_LEVEL: 'info', ...env });
      let log = '';
      await prepareLocalServices(
        config,
        createRootLogger(config, { write: (line) => (log += line) }),
      );
      return log;
    }

    it('dev: names Redis only when Redis is missing, and starts no Postgres meanwhile', async () => {
      const [postgresPort, redisPort] = [await freePort(), await freePort()];
      const run = prepare({
        APP_PROFILE: 'dev',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/tally`,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      });
      // Postgres is not named: the dev profile starts an embedded one once Redis answers.
      await expect(run).rejects.toThrow(
        new FirstRunError(
          `Cannot start: nothing answers at 127.0.0.1:${redisPort} (REDIS_URL). ` +
            "Start Redis (Debian's redis-server, or `docker compose up -d redis-local`).",
        ),
      );
      await expect(run).rejects.toBeInstanceOf(FirstRunError);
      expect(await reachable('127.0.0.1', postgresPort)).toBe(false);
    });

    it('dev: names Postgres when it is missing at an address it cannot be embedded at', async () => {
      const postgresPort = await freePort();
      // 127.0.0.2: loopback, but not where an embedded server is started.
      await expect(
        prepare({
          APP_PROFILE: 'dev',
          DATABASE_URL: `postgres://postgres@127.0.0.2:${postgresPort}/tally`,
        }),
      ).rejects.toThrow(
        `nothing answers at 127.0.0.2:${postgresPort} (DATABASE_URL). Start Postgres`,
      );
    });

    it('test: starts anyway when only one of them is missing (a test may start during an outage)', async () => {
      const name = await missingDatabase();
      const log = await prepare({
        DATABASE_URL: withDatabase(stack.env.DATABASE_URL!, name),
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      });
      expect(log).toContain('created the database');
      expect(await exists(name)).toBe(true);
      await expect(
        prepare({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/tally` }),
      ).resolves.toBe('');
    });

    it('leaves a refused CREATE DATABASE to the normal start, with a warning', async () => {
      const url = new URL(withDatabase(stack.env.DATABASE_URL!, await missingDatabase()));
      url.username = 'tally_no_such_role';
      const log = await prepare({ DATABASE_URL: url.toString() });
      expect(log).toContain('could not check or create the database');
      expect(log).toContain('tally_no_such_role');
    });
  });

  it('dev profile, nothing at a loopback DATABASE_URL: starts an embedded Postgres there, stops it after the drain', async () => {
    const postgresPort = await freePort();
    // Reachable by the `postgres` user that runs it when the tests run as root.
    const dir = mkdtempSync(join(tmpdir(), 'tally-embedded-'));
    chmodSync(dir, 0o755);
    const service = new ServiceProcess(await freePort(), {
      ...stack.env,
      APP_PROFILE: 'dev',
      LOG_REQUESTS: 'false',
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/tally`,
      DEV_POSTGRES_DIR: join(dir, 'postgres'),
    });
    try {
      // initdb, the start and the migrations: a few seconds, more on a loaded machine.
      await service.start(90_000);
      expect(service.output).toContain('starting an embedded Postgres');
      expect(service.output).toContain('created the database');
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
      expect(await service.stop('SIGTERM')).toBe(0);
      // The supervisor stops the server once the service has exited.
      await eventually(async () => expect(await reachable('127.0.0.1', postgresPort)).toBe(false));
    } finally {
      await service.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
