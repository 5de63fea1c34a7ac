import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { decodeJwt } from 'jose';
import { randomBytes } from 'node:crypto';
import { createTenant, ensureCustomer, event, ingest, type Reply } from './support/api';
import { eventually, TestStack } from './support/harness';
import { LiveEvents } from '../src/live/live-events';
import { registeredRoutes } from './support/routes';
import { SseClient } from './support/sse';

type Headers = Record<string, string>;

/** B's quota limit: a number no other answer contains by chance. */
const B_LIMIT = 4_242_917;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Row {
  /** As the app registers it: `METHOD /path/:param`. */
  route: string;
  access: 'tenant' | 'operator' | 'public';
  /** Tenant A's request aimed at tenant B's resources (ids, external ids, filters, body tenantId). */
  send: (headers: Headers) => Promise<Reply>;
  status: number;
  check?: (reply: Reply) => void;
}

/**
 * Every route, walked with tenant A's credentials against tenant B's resources: A gets a
 * refusal or an answer about its own namespace only, nothing of B in any answer, and B's
 * rows and counters end exactly as they started. The first test fails when the app
 * registers a route this table has no row for.
 */
describe('tenant isolation, route by route', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  const b = {
    tenantId: '',
    key: '',
    spareKeyId: '',
    customer: `b-${randomBytes(4).toString('hex')}`,
    name: `secret-name-${randomBytes(4).toString('hex')}`,
    email: `b-${randomBytes(4).toString('hex')}@example.com`,
  };
  let a: { tenantId: string; key: string };
  let asA: Headers;
  let before: unknown;
  let url: string;
  /** The id of an event in B's live history (the window.closed of its flush). */
  let bEventId: string;

  const call = async (method: Method, url: string, headers: Headers, body?: unknown) => {
    const response = await app.inject({
      method,
      url,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    const isJson = /json/.test(String(response.headers['content-type']));
    return {
      status: response.statusCode,
      headers: response.headers,
      body: isJson && response.body ? JSON.parse(response.body) : response.body,
    } satisfies Reply;
  };

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    a = await createTenant(app, 'a');
    asA = { 'x-api-key': a.key };
    ({ tenantId: b.tenantId, key: b.key } = await createTenant(app, 'b'));
    const asB = { 'x-api-key': b.key };
    await ensureCustomer(app, b.key, b.customer, { name: b.name, email: b.email });
    const spare = await call('POST', '/v1/api-keys', asB, { name: 'spare', scopes: ['read'] });
    b.spareKeyId = spare.body.id;
    const limit = { limit: B_LIMIT, period: '1h', algorithm: 'fixed' };
    await call('PUT', `/v1/customers/${b.customer}/quotas/calls`, asB, limit);
    await call('PUT', '/v1/quotas/defaults/calls', asB, limit);
    await call('PUT', '/v1/quotas/defaults/tokens', asB, limit);
    await call('POST', '/v1/quotas/consume', asB, {
      customerId: b.customer,
      metric: 'calls',
      units: 2,
    });
    await ingest(app, b.key, [
      event({
        timestamp: new Date(Date.now() - 5000).toISOString(),
        customerId: b.customer,
        apiEndpoint: '/b',
      }),
    ]);
    await eventually(async () => {
      const { rows } = await stack.pg.query(
        'SELECT count(*)::int AS n FROM aggregation_windows WHERE tenant_id = $1',
        [b.tenantId],
      );
      expect(rows[0].n).toBe(1);
      expect(await stack.keys('*:events')).toEqual(expect.any(Array));
      const events = await stack.pg.query('SELECT count(*)::int AS n FROM usage_events');
      expect(events.rows[0].n).toBe(1);
    });
    bEventId = await eventually(async () => {
      const [entry] = await stack.redis.xrange(
        `${stack.prefix}live:${b.tenantId}:history`,
        '-',
        '+',
        'COUNT',
        1,
      );
      expect(entry).toBeDefined();
      return entry[0];
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    before = await snapshotOfB();
  });

  afterAll(() => stack.dispose());

  /** Everything of B that A could conceivably change (last_used_at aside: B's own use moves it). */
  async function snapshotOfB() {
    const rows = async (sql: string) => (await stack.pg.query(sql, [b.tenantId])).rows;
    return {
      tenant: await rows('SELECT * FROM tenants WHERE id = $1'),
      keys: await rows(
        'SELECT id, name, prefix, key_hash, scopes, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY id',
      ),
      customers: await rows('SELECT * FROM customers WHERE tenant_id = $1 ORDER BY id'),
      quotas: await rows('SELECT * FROM quotas WHERE tenant_id = $1 ORDER BY id'),
      windows: await rows('SELECT * FROM aggregation_windows WHERE tenant_id = $1 ORDER BY id'),
      rollups: await rows(
        'SELECT * FROM usage_rollups WHERE tenant_id = $1 ORDER BY grain, bucket_start, customer_id',
      ),
      events: await rows('SELECT * FROM usage_events WHERE tenant_id = $1 ORDER BY event_id'),
      quotaBucket: await stack.redis.hgetall(`${stack.prefix}{q:${b.tenantId}:${b.customer}}`),
    };
  }

  /**
   * The stream, on a real socket, asked for B's customer and to resume after an event of
   * B's history. While it is open, B's channel carries an event naming B, then A's a
   * marker: the stream must show the marker and nothing of B. Its body is what it sent.
   */
  const stream = async (headers: Headers): Promise<Reply> => {
    const client = await SseClient.open(`${url}/v1/stream?customerId=${b.customer}`, {
      ...headers,
      'last-event-id': bEventId,
    });
    try {
      if (client.status !== 200) {
        const body = JSON.parse(await client.body());
        return { status: client.status, headers: client.response.headers, body };
      }
      const live = app.get(LiveEvents);
      await live.publish(b.tenantId, [
        {
          type: 'window.closed',
          customerId: b.customer,
          data: { tenantId: b.tenantId, name: b.name },
        },
      ]);
      await live.publish(a.tenantId, [
        { type: 'window.closed', customerId: b.customer, data: { marker: true } },
      ]);
      await client.waitFor('the marker', (c) => c.events.some((e) => e.data.includes('marker')));
      const body = client.events.map((e) => `event: ${e.event}\ndata: ${e.data}`).join('\n');
      return { status: 200, headers: client.response.headers, body };
    } finally {
      client.close();
    }
  };

  const ok = (status: number) => (reply: Reply) => expect(reply.status).toBe(status);
  /** Asks for no credential; a Swagger UI asset may be missing from the package (404). */
  const open = (reply: Reply) => expect([200, 302, 404]).toContain(reply.status);
  const hour = () => new Date(Date.now() - 3_600_000).toISOString();

  const rows: Row[] = [
    // Ingestion and reads: B named in the body or as a filter.
    {
      route: 'POST /v1/events',
      access: 'tenant',
      send: (h) =>
        call('POST', '/v1/events', h, [
          event({
            timestamp: new Date().toISOString(),
            customerId: b.customer,
            apiEndpoint: '/planted',
            tenantId: b.tenantId,
          }),
        ]),
      status: 403,
    },
    {
      route: 'GET /v1/windows',
      access: 'tenant',
      send: (h) => call('GET', `/v1/windows?customerId=${b.customer}&from=${hour()}`, h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    // Analytics: B's customer as a filter; A has no usage of its own, so every answer is empty.
    {
      route: 'GET /v1/usage',
      access: 'tenant',
      send: (h) =>
        call('GET', `/v1/usage?customerId=${b.customer}&groupBy=customer&from=${hour()}`, h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    {
      route: 'GET /v1/usage/daily',
      access: 'tenant',
      send: (h) => call('GET', '/v1/usage/daily', h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    {
      route: 'GET /v1/usage/top',
      access: 'tenant',
      send: (h) => call('GET', '/v1/usage/top?dimension=endpoint', h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    {
      route: 'GET /v1/usage/live',
      access: 'tenant',
      send: (h) => call('GET', `/v1/usage/live?customerId=${b.customer}`, h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    {
      route: 'GET /v1/usage/export',
      access: 'tenant',
      send: (h) => call('GET', `/v1/usage/export?customerId=${b.customer}&groupBy=customer`, h),
      status: 200,
      check: (r) => expect(String(r.body).trim().split('\n')).toHaveLength(1),
    },
    {
      route: 'GET /v1/events',
      access: 'tenant',
      send: (h) => call('GET', `/v1/events?customerId=${b.customer}&from=${hour()}`, h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    // Quotas: B's customer by external id, B's limits must not apply nor show.
    {
      route: 'POST /v1/quotas/consume',
      access: 'tenant',
      send: (h) =>
        call('POST', '/v1/quotas/consume', h, {
          customerId: b.customer,
          metric: 'calls',
          units: 1,
        }),
      status: 200,
      check: (r) => expect(r.body).toMatchObject({ limit: null, limits: [] }),
    },
    {
      route: 'GET /v1/quotas/status',
      access: 'tenant',
      send: (h) => call('GET', `/v1/quotas/status?customerId=${b.customer}`, h),
      status: 200,
      check: (r) => expect(r.body.limits).toEqual([]),
    },
    {
      route: 'PUT /v1/customers/:externalId/quotas/:metric',
      access: 'tenant',
      send: (h) =>
        call('PUT', `/v1/customers/${b.customer}/quotas/calls`, h, {
          limit: 1,
          period: '1h',
          algorithm: 'fixed',
        }),
      status: 404,
    },
    {
      route: 'GET /v1/customers/:externalId/quotas/:metric',
      access: 'tenant',
      send: (h) => call('GET', `/v1/customers/${b.customer}/quotas/calls`, h),
      status: 404,
    },
    {
      route: 'DELETE /v1/customers/:externalId/quotas/:metric',
      access: 'tenant',
      send: (h) => call('DELETE', `/v1/customers/${b.customer}/quotas/calls`, h),
      status: 404,
    },
    {
      route: 'POST /v1/customers/:externalId/quotas/reset',
      access: 'tenant',
      send: (h) => call('POST', `/v1/customers/${b.customer}/quotas/reset`, h),
      status: 404,
    },
    // A tenant's defaults have no id to aim with: A reads and changes only its own.
    {
      route: 'GET /v1/quotas/defaults/:metric',
      access: 'tenant',
      send: (h) => call('GET', '/v1/quotas/defaults/tokens', h),
      status: 404,
    },
    {
      route: 'PUT /v1/quotas/defaults/:metric',
      access: 'tenant',
      send: (h) =>
        call('PUT', '/v1/quotas/defaults/calls', h, { limit: 7, period: '1m', algorithm: 'fixed' }),
      status: 200,
      check: (r) => expect(r.body.limits).toEqual([{ limit: 7, period: '1m', algorithm: 'fixed' }]),
    },
    {
      route: 'DELETE /v1/quotas/defaults/:metric',
      access: 'tenant',
      send: (h) => call('DELETE', '/v1/quotas/defaults/tokens', h),
      status: 204,
    },
    // Keys and tokens.
    {
      route: 'POST /v1/api-keys',
      access: 'tenant',
      send: (h) =>
        call('POST', '/v1/api-keys', h, { name: 'x', scopes: ['admin'], tenantId: b.tenantId }),
      status: 400,
    },
    {
      route: 'GET /v1/api-keys',
      access: 'tenant',
      send: (h) => call('GET', '/v1/api-keys', h),
      status: 200,
      check: (r) =>
        expect(r.body.data.map((k: { id: string }) => k.id)).not.toContain(b.spareKeyId),
    },
    {
      route: 'PATCH /v1/api-keys/:id',
      access: 'tenant',
      send: (h) =>
        call('PATCH', `/v1/api-keys/${b.spareKeyId}`, h, {
          rateLimits: { requests: { limit: 1, period: '1h' } },
        }),
      status: 404,
    },
    {
      route: 'DELETE /v1/api-keys/:id',
      access: 'tenant',
      send: (h) => call('DELETE', `/v1/api-keys/${b.spareKeyId}`, h),
      status: 404,
    },
    {
      route: 'POST /v1/auth/token',
      access: 'tenant',
      send: (h) => call('POST', '/v1/auth/token', h),
      status: 200,
      check: (r) => expect(decodeJwt(r.body.accessToken).tid).toBe(a.tenantId),
    },
    {
      route: 'POST /v1/auth/stream-ticket',
      access: 'tenant',
      send: (h) => call('POST', '/v1/auth/stream-ticket', h),
      status: 200,
      check: (r) => expect(decodeJwt(r.body.ticket).tid).toBe(a.tenantId),
    },
    // The live stream: B's customer as a filter, a resume from B's history, B's events
    // published meanwhile. A hears only its own.
    {
      route: 'GET /v1/stream',
      access: 'tenant',
      send: stream,
      status: 200,
      // B's id is one A's history cannot vouch for: A may first be told to reset (to its own
      // head), then hears its own marker; nothing of B (checked below for every row).
      check: (r) =>
        expect(r.body).toMatch(
          /^(event: reset\ndata: [^\n]*"customerId":null[^\n]*"history-gap"[^\n]*\n)?event: window.closed\ndata: [^\n]*"marker":true[^\n]*$/,
        ),
    },
    // Customers: B's external id in the path, B's email as a filter, B in the body.
    {
      route: 'POST /v1/customers',
      access: 'tenant',
      send: (h) =>
        call('POST', '/v1/customers', h, { externalId: 'planted', tenantId: b.tenantId }),
      status: 403,
    },
    {
      route: 'GET /v1/customers',
      access: 'tenant',
      send: (h) => call('GET', `/v1/customers?email=${b.email}`, h),
      status: 200,
      check: (r) => expect(r.body.data).toEqual([]),
    },
    {
      route: 'GET /v1/customers/:externalId',
      access: 'tenant',
      send: (h) => call('GET', `/v1/customers/${b.customer}`, h),
      status: 404,
    },
    {
      route: 'PATCH /v1/customers/:externalId',
      access: 'tenant',
      send: (h) => call('PATCH', `/v1/customers/${b.customer}`, h, { name: 'hacked' }),
      status: 404,
    },
    // Operator routes: a tenant key is no admin token, whatever tenant it names.
    {
      route: 'POST /v1/tenants',
      access: 'operator',
      send: (h) => call('POST', '/v1/tenants', h, { name: 'planted' }),
      status: 401,
    },
    {
      route: 'GET /v1/tenants',
      access: 'operator',
      send: (h) => call('GET', '/v1/tenants', h),
      status: 401,
    },
    {
      route: 'GET /v1/tenants/:id',
      access: 'operator',
      send: (h) => call('GET', `/v1/tenants/${b.tenantId}`, h),
      status: 401,
    },
    {
      route: 'PATCH /v1/tenants/:id',
      access: 'operator',
      send: (h) => call('PATCH', `/v1/tenants/${b.tenantId}`, h, { active: false }),
      status: 401,
    },
    // Public routes: no credential, and no tenant's data in them.
    ...[
      ['GET /health/live', '/health/live'],
      ['GET /health/ready', '/health/ready'],
      ['GET /metrics', '/metrics'],
      ['GET /docs', '/docs'],
      ['GET /docs/', '/docs/'],
      ['GET /docs/*', '/docs/swagger-ui.css'],
      ['GET /docs/LICENSE', '/docs/LICENSE'],
      ['GET /docs/index.html', '/docs/index.html'],
      ['GET /docs/swagger-ui-init.js', '/docs/swagger-ui-init.js'],
      ['GET /docs/docs/swagger-ui-init.js', '/docs/docs/swagger-ui-init.js'],
      ['GET /docs-json', '/docs-json'],
      ['GET /docs-yaml', '/docs-yaml'],
      ['GET /dashboard', '/dashboard'],
      ['GET /dashboard/assets/:name', '/dashboard/assets/app.js'],
    ].map(([route, url]): Row => ({
      route,
      access: 'public',
      send: (h) => call('GET', url, h),
      status: 0,
      check: open,
    })),
  ];

  it('has a row for every route the app registers, and a route for every row', () => {
    expect(rows.map((r) => r.route).sort()).toEqual(registeredRoutes(app));
  });

  it.each(rows.map((row) => [row.route, row] as const))(
    '%s: tenant A reaches nothing of tenant B',
    async (_, row) => {
      const reply = await row.send(row.access === 'public' ? {} : asA);
      if (row.check) row.check(reply);
      if (row.status !== 0) ok(row.status)(reply);
      if (row.access !== 'public' && reply.status >= 400) {
        expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      // `instance` repeats the request's own URL, which may hold what A asked for.
      const seen =
        typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify({ ...reply.body, instance: undefined });
      for (const secret of [b.tenantId, b.name, b.email, String(B_LIMIT)]) {
        expect(seen).not.toContain(secret);
      }
      if (row.access !== 'public') {
        const anonymous = await row.send({});
        expect(anonymous.status).toBe(401);
      }
    },
  );

  it('left every row and counter of B exactly as it was, and B still works', async () => {
    expect(await snapshotOfB()).toEqual(before);
    const own = await call('GET', `/v1/customers/${b.customer}`, { 'x-api-key': b.key });
    expect(own.body).toMatchObject({ name: b.name, email: b.email });
  });
});
