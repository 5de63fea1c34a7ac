import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './harness';
import { freePort } from './processes';
import { reachable } from './services';

const run = promisify(execFile);

/**
 * Servers of a test's own, on free ports, that it may kill, stall, wipe and restart:
 * the shared 6379 and 5432 are never touched. Every fault test builds on these.
 */
export class ThrowawayRedis {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly appendOnly: boolean,
  ) {}

  /** `appendOnly`: AOF with fsync every second, as compose runs Redis. */
  static async start({ appendOnly = false } = {}): Promise<ThrowawayRedis> {
    const server = new ThrowawayRedis(
      await freePort(),
      mkdtempSync(join(tmpdir(), 'tally-redis-')),
      appendOnly,
    );
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const aof = this.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : [];
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...aof],
      { stdio: 'ignore' },
    );
    await eventually(async () => {
      if (!(await reachable('127.0.0.1', this.port))) throw new Error(`redis :${this.port} not up`);
    });
  }

  /** Kills the server (default SIGKILL: a crash) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** Starts it again on the same port and directory: with AOF it comes back with its data. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Back on the same port with nothing: a restart without persistence, or a failover to an empty replica. */
  async wipe(): Promise<void> {
    await this.kill();
    for (const entry of readdirSync(this.dir)) {
      rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
    await this.launch();
  }

  /** SIGSTOP: the socket stays open and nothing answers, as on a stalled host. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
/** initdb refuses root; as root, the cluster belongs to the `postgres` user. */
const asRoot = process.getuid?.() === 0;

function pgCommand(binary: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, binary);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function pg(binary: string, args: string[]): Promise<void> {
  const [command, argv] = pgCommand(binary, args);
  await run(command, argv);
}

let initialised: Promise<string> | undefined;

/** One initdb per test process; each server starts from a copy of it (initdb takes seconds). */
function initialisedCluster(): Promise<string> {
  initialised ??= (async () => {
    const dir = ownedTempDir('tally-pg-initdb-');
    await pg('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    return join(dir, 'data');
  })();
  return initialised;
}

function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  return dir;
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a `postgres` user to own a throwaway cluster');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A Postgres cluster of the test's own: stop it (`-m immediate` is a crash) and start it again. */
export class ThrowawayPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<ThrowawayPostgres> {
    const template = await initialisedCluster();
    const dir = ownedTempDir('tally-pg-');
    const [command, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', 'cp', '-a', template, join(dir, 'data')]]
      : ['cp', ['-a', template, join(dir, 'data')]];
    await run(command, argv);
    const server = new ThrowawayPostgres(await freePort(), dir);
    await server.startServer();
    return server;
  }

  /** The server's URL, for `TestStack.create(…, { databaseServer })`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async startServer(): Promise<void> {
    await pg('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  }

  /** `immediate` kills every backend without a checkpoint (a crash); `fast` is a clean stop. */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    await pg('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  async dispose(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
