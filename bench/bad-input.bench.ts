/**
 * npm run bench:bad-input — what the bad-input checks cost on the hot paths
 * (docs/reliability/bad-input.md):
 *
 * 1. per body of 100 events, in this process: JSON.parse, the nesting check that runs
 *    after it on every body, and the walk for text Postgres cannot store that the event
 *    validator runs on each event;
 * 2. per request: the security headers, on a bare Fastify route answering a single event
 *    with 202, as CPU time of the server process per request with and without the hook.
 *    The server is a child process (this file, `server` argument), driven by autocannon
 *    from here, rounds alternating so that both variants share the machine's noise.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/common/http/json-body';
import { addSecurityHeaders, securityHeaders } from '../src/common/http/security-headers';
import { unstorablePaths } from '../src/common/validation/storable-text';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 5);

function event(i: number) {
  return {
    eventId: randomUUID(),
    timestamp: new Date().toISOString(),
    customerId: `customer-${i % 50}`,
    apiEndpoint: '/api/completion',
    metadata: { model: 'gpt-4', inputTokens: 500, outputTokens: 1000, latencyMs: 234 },
  };
}

/** Median µs per call of `work`, over rounds of `calls` calls after a warm-up. */
function microseconds(work: () => unknown, calls: number): number {
  for (let i = 0; i < calls; i++) work();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) work();
    rounds.push(Number(process.hrtime.bigint() - started) / calls / 1000);
  }
  return rounds.sort((a, b) => a - b)[rounds.length >> 1];
}

function bodyChecks(): void {
  const text = JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i)));
  const parsed = JSON.parse(text) as unknown[];
  const parse = microseconds(() => JSON.parse(text), 5000);
  const depth = microseconds(() => nestsDeeperThan(parsed, MAX_JSON_DEPTH), 20000);
  const storable = microseconds(() => parsed.forEach((e, i) => unstorablePaths(e, `/${i}`)), 20000);
  console.log(`body of 100 events (${text.length} bytes), median of ${ROUNDS} rounds:`);
  console.log(`  JSON.parse                      ${parse.toFixed(1)} µs`);
  console.log(`  nesting check                   ${depth.toFixed(1)} µs`);
  console.log(`  unstorable-text walk, per event ${storable.toFixed(1)} µs (all 100)`);
}

async function serve(withHeaders: boolean): Promise<void> {
  const app = Fastify();
  if (withHeaders) addSecurityHeaders(app, securityHeaders());
  app.post('/v1/events', (_request, reply) => reply.code(202).send({ accepted: 1, duplicates: 0 }));
  app.get('/cpu', () => {
    const { user, system } = process.cpuUsage();
    return { micros: user + system };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!((app.server.address() as { port: number }).port);
}

async function cpuPerRequest(withHeaders: boolean): Promise<number> {
  const child = fork(__filename, ['server', withHeaders ? 'with' : 'without']);
  try {
    const [port] = (await once(child, 'message')) as [number];
    const url = `http://127.0.0.1:${port}`;
    const load = (duration: number) =>
      autocannon({
        url: `${url}/v1/events`,
        method: 'POST',
        connections: 10,
        duration,
        headers: { 'content-type': 'application/json' },
        requests: [{ body: JSON.stringify(event(1)) }],
      });
    const cpu = async () =>
      ((await (await fetch(`${url}/cpu`)).json()) as { micros: number }).micros;
    await load(1);
    const before = await cpu();
    const result = await load(SECONDS);
    return ((await cpu()) - before) / result.requests.total;
  } finally {
    child.kill();
  }
}

async function headers(): Promise<void> {
  const runs = { without: [] as number[], with: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.without.push(await cpuPerRequest(false));
    runs.with.push(await cpuPerRequest(true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const show = (values: number[]) => values.map((v) => v.toFixed(1)).join(' ');
  console.log(
    `security headers, server CPU µs per request (median of ${ROUNDS} rounds of ${SECONDS} s):`,
  );
  console.log(`  without  ${median(runs.without).toFixed(1)}   (${show(runs.without)})`);
  console.log(`  with     ${median(runs.with).toFixed(1)}   (${show(runs.with)})`);
}

if (process.argv[2] === 'server') {
  void serve(process.argv[3] === 'with');
} else {
  bodyChecks();
  void headers().then(() => process.exit(0));
}
