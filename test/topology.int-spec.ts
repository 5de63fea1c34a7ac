import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { eventually } from './support/harness';
import { buildService, freePort } from './support/processes';
import { reachable, withDatabase } from './support/services';

/**
 * The compose topology without Docker, as an operator runs it: scripts/local-topology.sh
 * starts three `node dist/src/main.js` behind a real nginx configured from
 * deploy/nginx/nginx.conf, load/topology-smoke.mjs sends a tenant and 3,000 events through
 * nginx, and `stop` drains everything. Its own ports, state directory, database and Redis
 * prefix, so it collides neither with a developer's topology nor with other test files.
 */

const SCRIPT = 'scripts/local-topology.sh';
const EVENTS = 3000; // the smoke's 30 batches of 100

/** nginx as the script finds it (NGINX, PATH, /usr/sbin); a clear failure when missing. */
function requireNginx(): string {
  const candidates = [
    process.env.NGINX,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'nginx')),
    '/usr/sbin/nginx',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    'nginx is not installed, and the topology test runs the repository’s load balancer ' +
      'configuration in a real nginx. Install it: `sudo apt-get install -y nginx-light` ' +
      '(Debian’s package; `bash .ci/run` installs it when it is missing).',
  );
}

interface Run {
  code: number | null;
  output: string;
}

describe('the compose topology without Docker (scripts/local-topology.sh)', () => {
  const state = mkdtempSync(join(tmpdir(), 'tally-topology-test-'));
  const suffix = randomBytes(4).toString('hex');
  const database = `tally_topology_test_${suffix}`;
  const prefix = `topotest:${suffix}:`;
  const server = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432');
  server.pathname = '';
  const pgServer = server.toString().replace(/\/$/, '');
  let appPorts: number[] = [];
  let lbPort = 0;
  let passed = 0;

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    TOPOLOGY_DIR: state,
    APP_PORTS: appPorts.join(' '),
    LB_PORT: String(lbPort),
    TOPOLOGY_PG: pgServer,
    TOPOLOGY_DATABASE: database,
    TOPOLOGY_REDIS: process.env.REDIS_URL,
    TOPOLOGY_REDIS_PREFIX: prefix,
    TOPOLOGY_SKIP_BUILD: '1', // built once per run by buildService()
    // As production runs: the prod profile, on secrets of this run only (prod refuses the
    // repository's published ones, which the script defaults to under the dev profile).
    APP_PROFILE: 'prod',
    ADMIN_TOKEN: `topology-admin-${randomBytes(12).toString('hex')}`,
    API_KEY_SECRET: randomBytes(32).toString('hex'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Windows of 4 s that close 2.5 s after their end: the smoke's events (stamped up to
    // 2 s in the past) are never late, as with the 30 s / 5 s defaults, but the test waits
    // seconds instead of a minute for the windows to close.
    WINDOW_SECONDS: '4',
    WINDOW_GRACE_SECONDS: '2.5',
    CLOSER_INTERVAL_MS: '250',
    DATABASE_POOL_SIZE: '4',
    NODE_ENV: 'production',
  });
  let runEnv: NodeJS.ProcessEnv;

  /** Runs the script; never throws, so a failure shows the script's own output. */
  const topology = (command: string, timeoutMs: number): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn('bash', [SCRIPT, command], {
        env: runEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('close', (code) => resolve({ code, output }));
    });

  const appLogs = (): string =>
    appPorts
      .map((_, i) => join(state, `app-${i + 1}.log`))
      .filter((file) => existsSync(file))
      .map((file) => `--- ${file}\n${readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');

  beforeAll(async () => {
    requireNginx();
    buildService();
    const ports = new Set<number>();
    while (ports.size < 4) ports.add(await freePort());
    [lbPort, ...appPorts] = [...ports];
    runEnv = env();
    const start = await topology('start', 150_000);
    if (start.code !== 0) {
      throw new Error(`topology start exited ${start.code}:\n${start.output}\n${appLogs()}`);
    }
  }, 240_000);

  afterAll(async () => {
    // Whatever happened above: stop only what this file started (the pids in its state dir).
    if (runEnv) {
      const stop = await topology('stop', 60_000);
      if (stop.code !== 0) console.error(`topology stop exited ${stop.code}:\n${stop.output}`);
    }
    const admin = new Client({ connectionString: withDatabase(pgServer, 'postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    // Logs stay for a failed run, and the path is printed; a passing run leaves nothing.
    if (passed === 2 || !runEnv) rmSync(state, { recursive: true, force: true });
    else console.error(`topology test: logs kept in ${state}`);
  }, 90_000);

  it('spreads requests over the three instances through nginx; the closed windows hold exactly the events sent', async () => {
    const smoke = await topology('smoke', 150_000);
    const context = `${smoke.output}\n${appLogs()}`;
    // Compared as one string, so a failure prints the smoke's whole output.
    expect(`exit ${smoke.code}\n${smoke.output}`).toMatch(/^exit 0\n[^]*smoke: OK/);

    // Re-checked here rather than trusted: nginx's own access log names the upstream of
    // every POST /v1/events, and each of this file's three instances served some.
    const perUpstream: Record<string, number> = {};
    for (const line of readFileSync(join(state, 'nginx', 'access.log'), 'utf8').split('\n')) {
      const match = /"POST \/v1\/events [^"]*" 202 .* upstream=(\S+)/.exec(line);
      if (match) perUpstream[match[1]] = (perUpstream[match[1]] ?? 0) + 1;
    }
    expect(Object.keys(perUpstream).sort()).toEqual(appPorts.map((p) => `127.0.0.1:${p}`).sort());
    expect(Object.values(perUpstream).reduce((a, b) => a + b, 0)).toBe(EVENTS / 100);
    for (const count of Object.values(perUpstream)) expect(count).toBeGreaterThan(0);

    // And Postgres, read directly: the tenant the smoke made holds exactly the events sent,
    // as closed windows and as raw events (the persistence worker's copy).
    const tenantId = /smoke: tenant (\S+) created/.exec(smoke.output)?.[1];
    expect(tenantId).toBeDefined();
    const pg = new Client({ connectionString: withDatabase(pgServer, database) });
    await pg.connect();
    try {
      const windows = await pg.query(
        'SELECT coalesce(sum(total_calls), 0)::int AS calls, count(*)::int AS n FROM aggregation_windows WHERE tenant_id = $1',
        [tenantId],
      );
      expect(windows.rows[0].calls).toBe(EVENTS);
      expect(windows.rows[0].n).toBeGreaterThan(0);
      await eventually(async () => {
        const events = await pg.query(
          'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct FROM usage_events WHERE tenant_id = $1',
          [tenantId],
        );
        expect(events.rows[0]).toEqual({ n: EVENTS, distinct: EVENTS });
      }, 20_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${context}`, { cause: error });
    } finally {
      await pg.end();
    }
    passed++;
  }, 180_000);

  it('stop: every instance drains on SIGTERM and exits, then nginx quits', async () => {
    const stop = await topology('stop', 60_000);
    expect(`exit ${stop.code}\n${stop.output}`).toMatch(/^exit 0\n/);
    for (const port of [...appPorts, lbPort])
      expect(await reachable('127.0.0.1', port)).toBe(false);
    for (let i = 1; i <= appPorts.length; i++) {
      const log = readFileSync(join(state, `app-${i}.log`), 'utf8');
      expect(log).toContain('SIGTERM: draining');
      expect(log).not.toMatch(/shutdown (exceeded|failed)/);
    }
    expect(stop.output).not.toContain('SIGKILL');
    passed++;
  }, 90_000);
});
