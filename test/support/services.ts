import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set by the global setup: the migrated template of this run (unique, so runs never collide). */
export function templateDb(): string {
  const name = process.env.TALLY_TEST_TEMPLATE;
  if (!name)
    throw new Error('TALLY_TEST_TEMPLATE is not set: the integration global setup did not run');
  return name;
}

/** The directory recording this run's `buildService()` (the global teardown removes it). */
export function buildMarker(run: string): string {
  return join(tmpdir(), `${run}.build`);
}

/** True if something accepts TCP connections at host:port within a short time. */
export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The same server with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
