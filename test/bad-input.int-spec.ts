import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, event, ingest, request } from './support/api';
import { TestStack } from './support/harness';

describe('bad input is refused with problem+json and changes nothing', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;
  const now = () => new Date().toISOString();

  beforeAll(async () => {
    stack = await TestStack.create({ INGEST_BODY_LIMIT_BYTES: '20000' });
    app = await stack.start();
    ({ key } = await createTenant(app));
  });

  afterAll(() => stack.dispose());

  afterEach(async () => {
    // Nothing reached Redis counting nor the persistence stream.
    expect(await stack.keys('*:w:*')).toEqual([]);
    const streams = await stack.keys('*:events');
    for (const stream of streams) expect(await stack.redis.xlen(stream)).toBe(0);
  });

  function expectProblem(
    reply: { status: number; headers: Record<string, unknown>; body: any },
    status: number,
  ) {
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reply.headers['x-request-id']).toEqual(expect.any(String));
    expect(reply.body).toMatchObject({
      status,
      title: expect.any(String),
      detail: expect.any(String),
    });
  }

  it('lists every bad field with its path and ingests none of the batch', async () => {
    const good = event({ timestamp: now(), customerId: 'c', apiEndpoint: '/a' });
    const reply = await ingest(app, key, [
      good,
      { ...good, eventId: 'x', timestamp: 'yesterday' },
      { ...good, eventId: 'y', metadata: { tokens: -1, inputTokens: 1.5, model: 7 } },
      { ...good, eventId: 'z', customer_id: 'typo' },
      { ...good, eventId: 'w', timestamp: new Date(Date.now() + 3_600_000).toISOString() },
      { ...good, eventId: 'v', timestamp: '2001-01-01T00:00:00Z' },
      'not an object',
    ]);
    expectProblem(reply, 400);
    const paths = reply.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/1/timestamp',
        '/2/metadata/tokens',
        '/2/metadata/inputTokens',
        '/2/metadata/model',
        '/3/customer_id',
        '/4/timestamp',
        '/5/timestamp',
        '/6',
      ]),
    );
    expect(paths).not.toContain('/0/eventId');
    const messages = reply.body.errors.map((e: { message: string }) => e.message).join('\n');
    expect(messages).toMatch(/in the future/);
    expect(messages).toMatch(/retention/);
  });

  it('refuses empty arrays, more than 1000 events, malformed JSON and non-JSON bodies', async () => {
    expectProblem(await ingest(app, key, []), 400);
    const tooMany = Array.from({ length: 1001 }, () => ({}));
    const big = await TestStack.create();
    const bigApp = await big.start();
    try {
      const bigKey = (await createTenant(bigApp)).key;
      expectProblem(await ingest(bigApp, bigKey, tooMany), 400);
    } finally {
      await big.dispose();
    }
    expectProblem(
      await request(app, 'POST', '/v1/events', {
        headers: { 'x-api-key': key },
        rawBody: '{"eventId":',
      }),
      400,
    );
    expectProblem(
      await request(app, 'POST', '/v1/events', {
        headers: { 'x-api-key': key, 'content-type': 'application/xml' },
        rawBody: '<event/>',
      }),
      415,
    );
  });

  it('answers 413 over the body limit', async () => {
    const padded = Array.from({ length: 200 }, () =>
      event({ timestamp: now(), customerId: 'c', apiEndpoint: '/a'.padEnd(200, 'x') }),
    );
    expectProblem(await ingest(app, key, padded), 413);
  });

  it('answers 401 without a key or with an unknown one, 403 for another tenant in the body', async () => {
    const body = event({ timestamp: now(), customerId: 'c', apiEndpoint: '/a' });
    expectProblem(await request(app, 'POST', '/v1/events', { body }), 401);
    expectProblem(await ingest(app, 'tly_00000000_' + 'A'.repeat(43), body), 401);
    expectProblem(await ingest(app, 'garbage', body), 401);
    const other = await createTenant(app, 'other');
    const reply = await ingest(app, key, [
      body,
      { ...body, eventId: 'b', tenantId: other.tenantId },
    ]);
    expectProblem(reply, 403);
    expect(reply.body.errors).toEqual([{ path: '/1/tenantId', message: expect.any(String) }]);
  });

  it('refuses a wrong admin token and an invalid tenant body', async () => {
    expectProblem(
      await request(app, 'POST', '/v1/tenants', {
        headers: { 'x-admin-token': 'nope' },
        body: { name: 'x' },
      }),
      401,
    );
    const reply = await request(app, 'POST', '/v1/tenants', {
      headers: { 'x-admin-token': stack.env.ADMIN_TOKEN! },
      body: { name: '', extra: 1 },
    });
    expectProblem(reply, 400);
    expect(new Set(reply.body.errors.map((e: { path: string }) => e.path))).toEqual(
      new Set(['/extra', '/name']),
    );
  });

  /** Rows of every table the API writes to, so a refused request is seen to change none. */
  async function rowCounts(): Promise<Record<string, number>> {
    const { rows } = await stack.pg.query<{ name: string; count: string }>(
      `SELECT 'tenants' AS name, count(*) FROM tenants UNION ALL
       SELECT 'api_keys', count(*) FROM api_keys UNION ALL
       SELECT 'customers', count(*) FROM customers UNION ALL
       SELECT 'quotas', count(*) FROM quotas`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.count)]));
  }

  it('refuses text Postgres cannot store in any body, query or route param, naming the field', async () => {
    const headers = { 'x-api-key': key };
    const admin = { 'x-admin-token': stack.env.ADMIN_TOKEN! };
    await request(app, 'POST', '/v1/customers', { headers, body: { externalId: 'c-ok' } });
    const before = await rowCounts();
    const cases: [
      Parameters<typeof request>[1],
      string,
      Record<string, string>,
      unknown,
      string,
    ][] = [
      ['POST', '/v1/tenants', admin, { name: 'a\u0000b' }, '/name'],
      ['POST', '/v1/tenants', admin, { name: 'x\ud800' }, '/name'],
      ['POST', '/v1/customers', headers, { externalId: 'c-2', name: 'a\u0000b' }, '/name'],
      ['PATCH', '/v1/customers/c-ok', headers, { name: '\udc00' }, '/name'],
      ['POST', '/v1/api-keys', headers, { name: 'k\u0000', scopes: ['read'] }, '/name'],
      ['GET', '/v1/windows?customerId=%00', headers, undefined, '/customerId'],
      ['GET', '/v1/customers?email=a%00%40b.example', headers, undefined, '/email'],
      ['GET', '/v1/quotas/status?customerId=c%00', headers, undefined, '/customerId'],
      ['GET', '/v1/customers/a%00b', headers, undefined, '/externalId'],
      ['GET', '/v1/customers/%00/quotas/calls', headers, undefined, '/externalId'],
    ];
    for (const [method, url, caseHeaders, body, path] of cases) {
      const reply = await request(app, method, url, { headers: caseHeaders, body });
      expectProblem(reply, 400);
      expect({ url, errors: reply.body.errors }).toEqual({
        url,
        errors: expect.arrayContaining([
          { path, message: expect.stringMatching(/cannot be stored/) },
        ]),
      });
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses forged cursors with a 400 naming the cursor', async () => {
    const headers = { 'x-api-key': key };
    const admin = { 'x-admin-token': stack.env.ADMIN_TOKEN! };
    const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const cases: [string, Record<string, string>][] = [
      [`/v1/windows?cursor=${cursor([1e308, 'c'])}`, headers],
      [`/v1/windows?cursor=${cursor([8.64e15, 'c'])}`, headers],
      [`/v1/windows?cursor=${cursor([-8.64e15, 'c'])}`, headers],
      [`/v1/windows?cursor=${cursor([1700000000000.5, 'c'])}`, headers],
      [`/v1/windows?cursor=${cursor([1700000000000, 'c\u0000'])}`, headers],
      [`/v1/customers?cursor=${cursor(['c\u0000'])}`, headers],
      [`/v1/customers?cursor=${cursor(['\ud800'])}`, headers],
      [`/v1/tenants?cursor=${cursor(['not-a-uuid'])}`, admin],
    ];
    for (const [url, caseHeaders] of cases) {
      const reply = await request(app, 'GET', url, { headers: caseHeaders });
      expectProblem(reply, 400);
      expect({ url, errors: reply.body.errors }).toEqual({
        url,
        errors: [{ path: '/cursor', message: expect.any(String) }],
      });
    }
  });

  it('answers windows at the edges of the years it accepts', async () => {
    const headers = { 'x-api-key': key };
    for (const query of ['to=0001-01-02T00:00:00Z', 'from=0001-01-01T00:00:00Z&limit=1']) {
      const reply = await request(app, 'GET', `/v1/windows?${query}`, { headers });
      expect({ query, status: reply.status }).toEqual({ query, status: 200 });
    }
  });

  it('refuses JSON nested beyond the limit with a 400 on every route, before validation', async () => {
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    const metadata = `{"a":${deep(5000)}}`;
    const before = await rowCounts();
    const eventBody = `{"eventId":"deep","timestamp":"${now()}","customerId":"c","apiEndpoint":"/a","metadata":${metadata}}`;
    const reply = await request(app, 'POST', '/v1/events', {
      headers: { 'x-api-key': key },
      rawBody: eventBody,
    });
    expectProblem(reply, 400);
    expect(reply.body.detail).toMatch(/deeper than 32 levels/);
    const tenant = await request(app, 'POST', '/v1/tenants', {
      headers: { 'x-admin-token': stack.env.ADMIN_TOKEN! },
      rawBody: `{"name":"deep","x":${deep(33)}}`,
    });
    expectProblem(tenant, 400);
    expect(tenant.body.detail).toMatch(/deeper than 32 levels/);
    // 32 levels is within the limit: the schema, not the parser, refuses this one.
    const atLimit = await request(app, 'POST', '/v1/tenants', {
      headers: { 'x-admin-token': stack.env.ADMIN_TOKEN! },
      rawBody: `{"name":"deep","x":${deep(31)}}`,
    });
    expectProblem(atLimit, 400);
    expect(atLimit.body.errors).toEqual([{ path: '/x', message: expect.any(String) }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('reads JSON bodies only: text and form bodies are a 415', async () => {
    const before = await rowCounts();
    for (const [type, payload] of [
      ['text/plain', '{"name":"plain"}'],
      ['application/x-www-form-urlencoded', 'name=form'],
    ]) {
      const reply = await request(app, 'POST', '/v1/tenants', {
        headers: { 'x-admin-token': stack.env.ADMIN_TOKEN!, 'content-type': type },
        rawBody: payload,
      });
      expectProblem(reply, 415);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('answers URLs the router cannot take as problems too', async () => {
    const headers = { 'x-api-key': key };
    expectProblem(await request(app, 'GET', '/v1/customers/a%', { headers }), 400);
    expectProblem(await request(app, 'GET', '/v1/customers/%zz', { headers }), 400);
    const long = await request(app, 'GET', `/v1/customers/${'x'.repeat(200)}`, { headers });
    expectProblem(long, 414);
    expect(long.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses bad window queries', async () => {
    const headers = { 'x-api-key': key };
    expectProblem(await request(app, 'GET', '/v1/windows?limit=0', { headers }), 400);
    expectProblem(await request(app, 'GET', '/v1/windows?from=yesterday', { headers }), 400);
    expectProblem(await request(app, 'GET', '/v1/windows?cursor=abc', { headers }), 400);
    expectProblem(
      await request(app, 'GET', '/v1/windows?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', {
        headers,
      }),
      400,
    );
    expectProblem(await request(app, 'GET', '/v1/nothing-here', { headers }), 404);
  });
});
