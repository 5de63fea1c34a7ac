import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeapFigures } from './heap-probe';

const STOP_GRACE_MS = 15_000;
const HEAP_PROBE = resolve(__dirname, 'heap-probe.js');

/** A server under test, run as its own process so it never shares a thread with the load. */
export class Child {
  private readonly process: ChildProcess;
  private exited = false;

  constructor(
    readonly name: string,
    node: string,
    script: string,
    env: NodeJS.ProcessEnv,
  ) {
    // The heap probe answers over the IPC channel (heap-probe.ts).
    // BENCH_CPU_PROFILE_DIR: each server writes a V8 CPU profile there when it exits
    // (summarise with dist/bench/cpu-profile-top.js).
    const profile = process.env.BENCH_CPU_PROFILE_DIR;
    const profiling = profile
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${profile}`,
          `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
        ]
      : [];
    const heapProfile = process.env.BENCH_HEAP_PROFILE_DIR;
    this.process = spawn(node, [...profiling, '--require', HEAP_PROBE, script], {
      env: heapProfile ? { ...env, BENCH_HEAP_PROFILE_DIR: heapProfile } : env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.process.once('exit', () => (this.exited = true));
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (stream) {
        createInterface({ input: stream }).on('line', (line) =>
          process.stderr.write(`[${name}] ${line}\n`),
        );
      }
    }
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.process.pid;
  }

  /** JS heap allocation and GC pauses of the process while `phase` runs. */
  async heap<T>(phase: () => Promise<T>): Promise<{ value: T; heap: HeapFigures }> {
    await this.ask('heap:start');
    const value = await phase();
    const { heap } = (await this.ask('heap:stop')) as { heap: HeapFigures };
    return { value, heap };
  }

  private async ask(message: string): Promise<unknown> {
    const answer = once(this.process, 'message');
    this.process.send(message);
    const [reply] = (await answer) as [unknown];
    return reply;
  }

  /** Resolves once `url` answers with `status`; fails fast if the process dies first. */
  async waitFor(url: string, status: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited during start-up (its output is above)`);
      const answered = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.status,
        () => 0,
      );
      if (answered === status) return;
      await sleep(100);
    }
    throw new Error(`${this.name} was not ready at ${url} within ${timeoutMs} ms`);
  }

  /** SIGTERM (the service drains on it), SIGKILL if it overstays. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_GRACE_MS);
    await exit;
    clearTimeout(timer);
  }
}

/** A port free right now; the tiny race with other programs is acceptable for a benchmark. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}
