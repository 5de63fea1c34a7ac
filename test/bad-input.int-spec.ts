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
