import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, ensureCustomer, request } from './support/api';
import { eventually, TestStack } from './support/harness';

describe('quota definitions', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;
  let as: { headers: Record<string, string> };

  beforeAll(async () => {
    stack = await TestStack.create({ QUOTA_CACHE_SECONDS: '1' });
    app = await stack.start();
    ({ key } = await createTenant(app));
    as = { headers: { 'x-api-key': key } };
    for (const customer of ['c-1', 'special', 'cached', 'reconnect'])
      await ensureCustomer(app, key, customer);
  });

  afterAll(() => stack.dispose());

  /** The shared helper always sends a JSON content type, which Fastify refuses without a body. */
  const bodiless = (method: 'DELETE' | 'POST', url: string) =>
    app.inject({ method, url, headers: as.headers }).then((r) => r.statusCode);

  const consume = (target: NestFastifyApplication, customerId: string, units = 1) =>
    request(target, 'POST', '/v1/quotas/consume', {
      ...as,
      body: { customerId, metric: 'calls', units },
    });

  it('stores the documented one-limit body and answers it back in canonical form', async () => {
    const put = await request(app, 'PUT', '/v1/customers/c-1/quotas/calls', {
      ...as,
      body: { limit: 100, period: '60m', algorithm: 'fixed' },
    });
    expect(put).toMatchObject({
      status: 200,
      body: {
        customerId: 'c-1',
        metric: 'calls',
        limits: [{ limit: 100, period: '1h', algorithm: 'fixed' }],
      },
    });
    const get = await request(app, 'GET', '/v1/customers/c-1/quotas/calls', as);
    expect(get.body).toEqual(put.body);
  });

  it('replaces the whole set with a list of limits, one per period', async () => {
    const body = {
      limits: [
        { limit: 1_000_000, period: '1d', algorithm: 'sliding' },
        { limit: 100, period: '1m', algorithm: 'fixed' },
      ],
    };
    const put = await request(app, 'PUT', '/v1/customers/c-1/quotas/tokens', { ...as, body });
    expect(put.body.limits).toEqual([
      { limit: 100, period: '1m', algorithm: 'fixed' },
      { limit: 1_000_000, period: '1d', algorithm: 'sliding' },
    ]);
    await request(app, 'PUT', '/v1/customers/c-1/quotas/tokens', {
      ...as,
      body: { limit: 5, period: '30s', algorithm: 'sliding' },
    });
    const get = await request(app, 'GET', '/v1/customers/c-1/quotas/tokens', as);
    expect(get.body.limits).toEqual([{ limit: 5, period: '30s', algorithm: 'sliding' }]);
    const { rows } = await stack.pg.query(
      `SELECT count(*)::int AS n FROM quotas WHERE customer_id = 'c-1' AND metric = 'tokens'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('refuses bad definitions with a problem naming each field, and changes nothing', async () => {
    const cases: [unknown, string[]][] = [
      [{ limit: 0, period: '1h', algorithm: 'fixed' }, ['/limit']],
      [{ limit: 1.5, period: '1h', algorithm: 'fixed' }, ['/limit']],
      [{ limit: 10, period: '1w', algorithm: 'fixed' }, ['/period']],
      [{ limit: 10, period: '400d', algorithm: 'fixed' }, ['/period']],
      [{ limit: 10, period: '1h', algorithm: 'leaky' }, ['/algorithm']],
      [{ limit: 10, period: '1h' }, ['/algorithm']],
      [{ limit: 10, period: '1h', algorithm: 'fixed', burst: 2 }, ['/burst']],
      [{ limits: [] }, ['/limits']],
      [
        {
          limits: [
            { limit: 10, period: '1h', algorithm: 'fixed' },
            { limit: 20, period: '60m', algorithm: 'sliding' },
          ],
        },
        ['/limits/1/period'],
      ],
    ];
    for (const [body, paths] of cases) {
      const reply = await request(app, 'PUT', '/v1/customers/c-1/quotas/calls', { ...as, body });
      expect({ body, status: reply.status, type: reply.headers['content-type'] }).toEqual({
        body,
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(reply.body.errors.map((e: { path: string }) => e.path)).toEqual(paths);
    }
    const get = await request(app, 'GET', '/v1/customers/c-1/quotas/calls', as);
    expect(get.body.limits).toEqual([{ limit: 100, period: '1h', algorithm: 'fixed' }]);
  });

  it('answers 404 for a metric that does not exist, a quota never set, a customer unknown', async () => {
    const unknown = await request(app, 'PUT', '/v1/customers/c-1/quotas/bytes', {
      ...as,
      body: { limit: 1, period: '1h', algorithm: 'fixed' },
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    const unset = await request(app, 'GET', '/v1/customers/special/quotas/tokens', as);
    expect(unset.status).toBe(404);
    const nobody = await request(app, 'PUT', '/v1/customers/nobody/quotas/calls', {
      ...as,
      body: { limit: 1, period: '1h', algorithm: 'fixed' },
    });
    expect(nobody).toMatchObject({ status: 404, body: { detail: "No customer 'nobody'." } });
    const noDefault = await request(app, 'GET', '/v1/quotas/defaults/calls', as);
    expect(noDefault.status).toBe(404);
  });

  it('needs an admin key', async () => {
    const none = await request(app, 'GET', '/v1/customers/c-1/quotas/calls');
    expect(none.status).toBe(401);
    const other = await createTenant(app, 'other');
    const foreign = await request(app, 'GET', '/v1/customers/c-1/quotas/calls', {
      headers: { 'x-api-key': other.key },
    });
    expect(foreign.status).toBe(404);
  });

  it('applies the tenant default where a customer has none of its own for the metric', async () => {
    await request(app, 'PUT', '/v1/quotas/defaults/calls', {
      ...as,
      body: { limit: 2, period: '1h', algorithm: 'fixed' },
    });
    const fallback = await consume(app, 'new-customer');
    expect(fallback.body).toMatchObject({
      allowed: true,
      limit: 2,
      remaining: 1,
      limits: [{ source: 'default', period: '1h' }],
    });
    await request(app, 'PUT', '/v1/customers/special/quotas/calls', {
      ...as,
      body: { limit: 50, period: '1m', algorithm: 'sliding' },
    });
    const own = await consume(app, 'special');
    expect(own.body).toMatchObject({
      limit: 50,
      remaining: 49,
      limits: [{ source: 'customer', algorithm: 'sliding', period: '1m' }],
    });
    expect(own.body.limits).toHaveLength(1);

    expect(await bodiless('DELETE', '/v1/customers/special/quotas/calls')).toBe(204);
    expect((await consume(app, 'special')).body).toMatchObject({ limit: 2, remaining: 1 });

    expect(await bodiless('DELETE', '/v1/quotas/defaults/calls')).toBe(204);
    expect((await request(app, 'GET', '/v1/quotas/defaults/calls', as)).status).toBe(404);
    expect((await consume(app, 'special')).body).toMatchObject({ allowed: true, limit: null });
  });

  it('lets a customer without any applicable limit through with limit null', async () => {
    const reply = await request(app, 'POST', '/v1/quotas/consume', {
      ...as,
      body: { customerId: 'anyone', metric: 'tokens', units: 1_000 },
    });
    expect(reply).toMatchObject({
      status: 200,
      body: {
        allowed: true,
        enforced: true,
        limit: null,
        remaining: null,
        resetAt: null,
        limits: [],
      },
    });
    expect(reply.headers['ratelimit-limit']).toBeUndefined();
  });

  it('applies a change at once on every instance, and one it was not told of within the cache time', async () => {
    const other = await stack.start();
    await request(app, 'PUT', '/v1/customers/cached/quotas/calls', {
      ...as,
      body: { limit: 10, period: '1h', algorithm: 'fixed' },
    });
    expect((await consume(other, 'cached')).body.limit).toBe(10);
    await request(app, 'PUT', '/v1/customers/cached/quotas/calls', {
      ...as,
      body: { limit: 20, period: '1h', algorithm: 'fixed' },
    });
    expect((await consume(app, 'cached')).body.limit).toBe(20);
    expect((await consume(other, 'cached')).body.limit).toBe(20);

    // Behind the service's back, as if the announcement had been lost.
    await stack.pg.query(`UPDATE quotas SET "limit" = 30 WHERE customer_id = 'cached'`);
    expect((await consume(other, 'cached')).body.limit).toBe(20);
    await eventually(
      async () => expect((await consume(other, 'cached')).body.limit).toBe(30),
      3000,
    );
    await stack.stop(other);
  });

  it('drops every snapshot when its subscription reconnects, so a change it missed applies', async () => {
    const instanceId = `sub-${randomUUID().slice(0, 8)}`;
    // A cache far longer than the test: only the reconnect can explain a fresh read.
    const other = await stack.start({ QUOTA_CACHE_SECONDS: '300', INSTANCE_ID: instanceId });
    await request(app, 'PUT', '/v1/customers/reconnect/quotas/calls', {
      ...as,
      body: { limit: 1000, period: '1h', algorithm: 'fixed' },
    });
    expect((await consume(other, 'reconnect')).body.limit).toBe(1000);
    await stack.pg.query(`UPDATE quotas SET "limit" = 3000 WHERE customer_id = 'reconnect'`);
    expect((await consume(other, 'reconnect')).body.limit).toBe(1000);

    const clients = (await stack.redis.client('LIST')) as string;
    const subscriber = new RegExp(`^id=(\\d+) .*name=tally:${instanceId}:quota-changes `, 'm');
    const [, id] = subscriber.exec(clients) ?? [];
    expect(id).toBeDefined();
    await stack.redis.client('KILL', 'ID', id);
    await eventually(async () => expect((await consume(other, 'reconnect')).body.limit).toBe(3000));
    await stack.stop(other);
  });

  it('documents every quota route in OpenAPI', async () => {
    const doc = await request(app, 'GET', '/docs-json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/customers/{externalId}/quotas/{metric}',
        '/v1/quotas/defaults/{metric}',
        '/v1/quotas/consume',
        '/v1/quotas/status',
        '/v1/customers/{externalId}/quotas/reset',
      ]),
    );
    expect(doc.body.paths['/v1/quotas/consume'].post.responses['429']).toBeDefined();
  });
});
