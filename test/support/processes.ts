import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { RawEnv } from '../../src/config/env.schema';
import { eventually } from './harness';
import { buildMarker } from './services';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * Compiles the service as production runs it (`npm run build`), once per Jest run: the
 * first test file to ask builds, the others (in any worker) wait for that build instead of
 * rewriting dist/ while another file's processes start from it.
 */
export function buildService(): void {
  const run = process.env.TALLY_TEST_TEMPLATE; // unique per run, set by the global setup
  if (!run) return compile();
  const marker = buildMarker(run);
  try {
    mkdirSync(marker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return awaitBuild(marker);
  }
  try {
    compile();
  } catch (error) {
    writeFileSync(join(marker, 'failed'), String(error));
    throw error;
  }
  writeFileSync(join(marker, 'done'), '');
}

/** What `npm run build` runs, without npm in between. */
function compile(): void {
  execFileSync('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { stdio: 'inherit' });
}

/** Blocks (as the build itself would) until another worker's build of this run ends. */
function awaitBuild(marker: string, timeoutMs = 180_000): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(join(marker, 'done'))) {
    if (existsSync(join(marker, 'failed')))
      throw new Error(`the build of this run failed in another test file: ${marker}/failed`);
    if (Date.now() > deadline) throw new Error(`no build finished within ${timeoutMs} ms`);
    Atomics.wait(pause, 0, 0, 200);
  }
}

/** One instance of the built service as its own process, as compose would run it. */
export class ServiceProcess {
  private child?: ChildProcess;
  output = '';

  constructor(
    readonly port: number,
    private readonly env: RawEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Waits until `/health/ready` answers 200, for at most `readyTimeoutMs`. */
  async start(readyTimeoutMs = 30000): Promise<void> {
    this.output = '';
    this.child = spawn(process.execPath, ['dist/src/main.js'], {
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    await eventually(async () => {
      const reply = await fetch(`${this.url}/health/ready`);
      if (reply.status !== 200) throw new Error(`not ready: ${reply.status}`);
    }, readyTimeoutMs);
  }

  /** Sends a signal and waits for the process to end; returns its exit code. */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = once(child, 'exit');
    child.kill(signal);
    const [code] = (await exited) as [number | null];
    return code;
  }
}
