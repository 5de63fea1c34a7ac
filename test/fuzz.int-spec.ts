import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Pool } from 'undici';
import { ADMIN_TOKEN, TestStack } from './support/harness';
import {
  type FuzzContext,
  fuzzOperations,
  type FuzzRequest,
  type OpenApiDocument,
} from './support/openapi-fuzz';
import { buildService, freePort, ServiceProcess } from './support/processes';

/** At least this many malformed requests in all, spread evenly over the operations. */
const REQUESTS = 2400;
const BODY_LIMIT_BYTES = 65_536;
/** Reproduce a run with FUZZ_SEED=<the seed printed on failure>. */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Malformed requests generated from the OpenAPI document (fast-check), against the built
 * service as its own process, authenticated so they get past authentication: every one
 * is answered 4xx as problem+json (a write, always 4xx), none 5xx; the process lives on;
 * every table and every Redis key is as it was.
 */
describe('malformed requests from the OpenAPI document', () => {
  let stack: TestStack;
  let service: ServiceProcess;
  let pool: Pool;
  let context: FuzzContext;
  const tally = new Map<string, Map<number, number>>();

  beforeAll(async () => {
    buildService();
    stack = await TestStack.create();
    service = new ServiceProcess(await freePort(), {
      ...stack.env,
      INSTANCE_ID: 'fuzz',
      // No background jobs, no per-key budgets: what changes state is the requests alone.
      APP_ROLE: 'api',
      API_KEY_RATE_LIMIT: '0',
      API_KEY_EVENT_RATE_LIMIT: '0',
      INGEST_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    });
    await service.start();
    pool = new Pool(service.url, { connections: 4 });

    const tenant = await call(
      post('/v1/tenants', { 'x-admin-token': ADMIN_TOKEN }, { name: 'fuzz' }),
    );
    const { tenant: created, apiKey } = JSON.parse(tenant.body) as {
      tenant: { id: string };
      apiKey: { key: string };
    };
    const auth = { 'x-api-key': apiKey.key };
    // A second key for the routes that name one: the fuzzer must not revoke its own.
    const victim = JSON.parse(
      (await call(post('/v1/api-keys', auth, { name: 'victim', scopes: ['read'] }))).body,
    ) as { id: string };
    expect((await call(post('/v1/customers', auth, { externalId: 'fuzz-c' }))).status).toBe(201);
    context = {
      tenantId: created.id,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      pathValue: (path, name) =>
        ({
          id: path.startsWith('/v1/tenants') ? created.id : victim.id,
          externalId: 'fuzz-c',
          customerId: 'fuzz-c',
          metric: 'calls',
        })[name] ?? 'fuzz',
      credentials: (operation): Record<string, string> => {
        const schemes = (operation.security ?? []).flatMap((s) => Object.keys(s));
        if (schemes.includes('adminToken')) return { 'x-admin-token': ADMIN_TOKEN };
        return schemes.length > 0 ? auth : {};
      },
    };
  }, 240_000);

  afterAll(async () => {
    await pool?.close();
    await service?.stop('SIGTERM');
    await stack?.dispose();
    const lines = [...tally].map(
      ([route, statuses]) =>
        `${route.padEnd(52)} ${[...statuses]
          .sort(([a], [b]) => a - b)
          .map(([status, n]) => `${status}×${n}`)
          .join(' ')}`,
    );
    process.stdout.write(`fuzz seed ${SEED}; answers by operation:\n${lines.join('\n')}\n`);
  });

  function post(path: string, headers: Record<string, string>, body: unknown): FuzzRequest {
    return {
      mutation: 'setup',
      method: 'POST',
      path,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  }

  async function call(request: FuzzRequest): Promise<Answer> {
    const reply = await pool.request({
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body,
    });
    const contentType = String(reply.headers['content-type'] ?? '');
    // A live stream that opened never ends: its status is the answer, its body is not read.
    if (contentType.startsWith('text/event-stream')) {
      reply.body.destroy();
      return { status: reply.statusCode, contentType, body: '' };
    }
    return { status: reply.statusCode, contentType, body: await reply.body.text() };
  }

  /** Row count and content digest of every table, and every Redis key of the stack with its value. */
  async function snapshot(): Promise<Record<string, string>> {
    const state: Record<string, string> = {};
    const { rows: tables } = await stack.pg.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
    );
    for (const { name } of tables) {
      // last_used_at records that a key authenticated, which every request here does.
      const { rows } = await stack.pg.query<{ count: string; digest: string | null }>(
        `SELECT count(*) AS count,
                md5(string_agg((to_jsonb(t) - 'last_used_at')::text, ',' ORDER BY (to_jsonb(t) - 'last_used_at')::text)) AS digest
         FROM "${name}" t`,
      );
      state[`table ${name}`] = `${rows[0].count} rows, ${rows[0].digest ?? '-'}`;
    }
    for (const redisKey of (await stack.keys()).sort()) {
      // What reads leave behind by design: cached answers and their versions ({a:…}), and
      // the live stream's bookkeeping (a history to resume from, watch marks, leases).
      if (/\{a:[^}]*\}|:live:/.test(redisKey)) continue;
      const dump = await stack.redis.dumpBuffer(redisKey);
      state[`redis ${redisKey}`] = createHash('sha256')
        .update(dump ?? '')
        .digest('hex');
    }
    return state;
  }

  function check(request: FuzzRequest, answer: Answer): void {
    const seen = { ...request, body: request.body?.slice(0, 300), answer: answer.status };
    expect({ ...seen, serverError: answer.status >= 500 }).toEqual({ ...seen, serverError: false });
    if (request.method !== 'GET') {
      // Every request here is wrong in some way: a write must never be accepted.
      expect({ ...seen, refused: answer.status >= 400 }).toEqual({ ...seen, refused: true });
    }
    if (answer.status >= 400) {
      expect({ ...seen, type: answer.contentType }).toEqual({
        ...seen,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      const problem = JSON.parse(answer.body) as { status: number; title: string; detail: string };
      expect({ ...seen, problem }).toEqual({
        ...seen,
        problem: expect.objectContaining({
          status: answer.status,
          title: expect.any(String),
          detail: expect.any(String),
        }),
      });
    }
  }

  it('answers every one 4xx as problem+json, never 5xx, and changes nothing', async () => {
    const doc = JSON.parse(
      (await call({ mutation: '', method: 'GET', path: '/docs-json', headers: {} })).body,
    ) as OpenApiDocument;
    const before = await snapshot();
    const operations = fuzzOperations(doc, context);
    const documented = Object.values(doc.paths).flatMap((methods) => Object.keys(methods));
    expect(operations).toHaveLength(documented.length);
    const runs = Math.ceil(REQUESTS / operations.length);
    const started = Date.now();
    for (const [index, operation] of operations.entries()) {
      const route = `${operation.method} ${operation.path}`;
      const statuses = new Map<number, number>();
      tally.set(route, statuses);
      try {
        await fc.assert(
          fc.asyncProperty(operation.requests, async (request) => {
            const answer = await call(request);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            check(request, answer);
          }),
          { seed: SEED + index, numRuns: runs },
        );
      } catch (error) {
        (error as Error).message = `FUZZ_SEED=${SEED}, ${route}:\n${(error as Error).message}`;
        throw error;
      }
    }
    const sent = [...tally.values()].reduce(
      (n, s) => n + [...s.values()].reduce((a, b) => a + b, 0),
      0,
    );
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    process.stdout.write(`fuzz: ${sent} requests in ${Date.now() - started} ms\n`);

    const live = await call({ mutation: '', method: 'GET', path: '/health/live', headers: {} });
    expect(live.status).toBe(200);
    expect(await snapshot()).toEqual(before);
    expect(service.output).not.toMatch(/unhandled error/);
    // Alive to the end: a graceful stop, not the exit code of a crash.
    expect(await service.stop('SIGTERM')).toBe(0);
  }, 600_000);
});
