import { createKey, createTenant, ensureCustomer, event, ingest, request } from './support/api';
import { TestStack } from './support/harness';

describe('per-key API rate limit', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({
      API_KEY_RATE_LIMIT: '3',
      API_KEY_RATE_PERIOD_SECONDS: '60',
      API_KEY_EVENT_RATE_LIMIT: '150',
      API_KEY_EVENT_RATE_PERIOD_SECONDS: '60',
    });
  });

  afterAll(() => stack.dispose());

  it('answers 429 with Retry-After and RateLimit headers on the request after the limit', async () => {
    const app = await stack.start();
    const { key } = await createTenant(app);
    const other = await createTenant(app, 'other');
    const headers = { 'x-api-key': key };
    for (let i = 1; i <= 3; i++) {
      const reply = await request(app, 'GET', '/v1/windows', { headers });
      expect(reply.status).toBe(200);
      expect(reply.headers['ratelimit-limit']).toBe('3');
      expect(reply.headers['ratelimit-remaining']).toBe(String(3 - i));
      expect(reply.headers['ratelimit-policy']).toBe('"requests:60s";q=3;w=60');
      expect(reply.headers.ratelimit).toMatch(new RegExp(`^"requests:60s";r=${3 - i};t=\\d+$`));
    }
    const refused = await request(app, 'GET', '/v1/windows', { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers.ratelimit).toBe(
      `"requests:60s";r=0;t=${String(refused.headers['ratelimit-reset'])}`,
    );
    // Another key has its own budget.
    expect(
      (await request(app, 'GET', '/v1/windows', { headers: { 'x-api-key': other.key } })).status,
    ).toBe(200);
  });

  it('limits ingestion by events, not requests, and ingests nothing when refused', async () => {
    const app = await stack.start();
    const { key } = await createTenant(app);
    const batch = () =>
      Array.from({ length: 100 }, () =>
        event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' }),
      );
    expect((await ingest(app, key, batch())).status).toBe(202);
    const refused = await ingest(app, key, batch());
    expect(refused.status).toBe(429);
    expect(refused.body.detail).toMatch(/events rate/);
    expect((await ingest(app, key, batch().slice(0, 50))).body).toEqual({
      accepted: 50,
      duplicates: 0,
    });
    // The read rate is a separate budget: ingesting did not spend it.
    expect(
      (await request(app, 'GET', '/v1/windows', { headers: { 'x-api-key': key } })).status,
    ).toBe(200);
  });

  it('counts no event of a request its budget refused, under concurrency; over budget, a bad body is a 429', async () => {
    const app = await stack.start();
    const { key } = await createTenant(app);
    const events = Array.from({ length: 200 }, () =>
      event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' }),
    );
    const replies = await Promise.all(events.map((e) => ingest(app, key, e)));
    const accepted = events.filter((_, i) => replies[i].status === 202);
    const refused = events.filter((_, i) => replies[i].status === 429);
    expect([accepted.length, refused.length]).toEqual([150, 50]);
    // The budget answers first, as when it was asked before the handler.
    expect((await ingest(app, key, { customerId: 'no id, no timestamp' })).status).toBe(429);
    // Another key of the tenant, with room: dedup tells which events were counted.
    const roomy = await createKey(app, key, ['ingest'], { events: { limit: 1000, period: '1m' } });
    expect((await ingest(app, roomy, refused)).body).toEqual({ accepted: 50, duplicates: 0 });
    expect((await ingest(app, roomy, accepted)).body).toEqual({
      accepted: 0,
      duplicates: 150,
    });
  });

  it("applies a key's own limit in place of the default, and PATCH changes it", async () => {
    const app = await stack.start();
    const admin = { 'x-api-key': (await createTenant(app)).key };
    const created = await request(app, 'POST', '/v1/api-keys', {
      headers: admin,
      body: {
        name: 'gateway',
        scopes: ['read'],
        rateLimits: { requests: { limit: 5, period: '2m' } },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.rateLimits).toEqual({ requests: { limit: 5, period: '2m' } });
    const own = { headers: { 'x-api-key': created.body.key } };
    for (let i = 1; i <= 5; i++) {
      const reply = await request(app, 'GET', '/v1/windows', own);
      expect([reply.status, reply.headers['ratelimit-limit']]).toEqual([200, '5']);
    }
    expect((await request(app, 'GET', '/v1/windows', own)).status).toBe(429);

    const patched = await request(app, 'PATCH', `/v1/api-keys/${created.body.id}`, {
      headers: admin,
      body: { rateLimits: {} },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: created.body.id, rateLimits: {} });
    const back = await request(app, 'GET', '/v1/windows', own);
    expect([back.status, back.headers['ratelimit-limit']]).toEqual([200, '3']);
  });

  it("judges a quota check with the key's event budget: a refusal by either charges neither", async () => {
    const app = await stack.start();
    const first = (await createTenant(app)).key;
    const newKey = (scopes: string[], rateLimits: object) =>
      createKey(app, first, scopes, rateLimits);
    // The setup's own requests must not run into the stack's 3 requests a minute.
    const adminKey = await newKey(['admin', 'read'], { requests: { limit: 100, period: '1m' } });
    const admin = { 'x-api-key': adminKey };
    const gateway = {
      'x-api-key': await newKey(['ingest'], { events: { limit: 2, period: '1h' } }),
    };
    for (const [customer, limit] of [
      ['c-1', 1],
      ['c-2', 5],
      ['c-3', 5],
    ] as const) {
      await ensureCustomer(app, adminKey, customer);
      await request(app, 'PUT', `/v1/customers/${customer}/quotas/calls`, {
        headers: admin,
        body: { limit, period: '1h', algorithm: 'fixed' },
      });
    }
    const consume = (customerId: string) =>
      request(app, 'POST', '/v1/quotas/consume', {
        headers: gateway,
        body: { customerId, metric: 'calls', units: 1 },
      });
    const remaining = async (customerId: string) =>
      (await request(app, 'GET', `/v1/quotas/status?customerId=${customerId}`, { headers: admin }))
        .body.limits[0].remaining;

    expect((await consume('c-1')).status).toBe(200);
    const byQuota = await consume('c-1');
    expect(byQuota.status).toBe(429);
    expect(byQuota.body.exceeded).toMatchObject({ limit: 1 });
    // The refused check spent nothing of the key's budget: its second unit is still there.
    expect((await consume('c-2')).status).toBe(200);
    const byKey = await consume('c-3');
    expect(byKey.status).toBe(429);
    expect(byKey.body.detail).toMatch(/events rate/);
    expect(byKey.headers['ratelimit-limit']).toBe('2');
    expect(Number(byKey.headers['retry-after'])).toBeGreaterThan(0);
    // ... and the key's refusal charged nothing to the customer.
    expect(await remaining('c-3')).toBe(5);
    expect(await remaining('c-2')).toBe(4);
  });

  it('refuses bad key rate limits with 400 and an unknown key with 404', async () => {
    const app = await stack.start();
    const headers = { 'x-api-key': (await createTenant(app)).key };
    const zero = await request(app, 'POST', '/v1/api-keys', {
      headers,
      body: { name: 'k', scopes: ['read'], rateLimits: { events: { limit: 0, period: '1s' } } },
    });
    expect(zero.status).toBe(400);
    expect(zero.headers['content-type']).toMatch(/problem\+json/);
    expect(zero.body.errors).toEqual([
      expect.objectContaining({ path: '/rateLimits/events/limit' }),
    ]);
    const tooLong = await request(app, 'POST', '/v1/api-keys', {
      headers,
      body: { name: 'k', scopes: ['read'], rateLimits: { requests: { limit: 1, period: '400d' } } },
    });
    expect(tooLong.body.errors).toEqual([
      expect.objectContaining({ path: '/rateLimits/requests/period' }),
    ]);
    const unknown = await request(
      app,
      'PATCH',
      '/v1/api-keys/6f1c3f0e-7a41-4d7e-9a43-5d7a8e2b9c10',
      {
        headers,
        body: { rateLimits: {} },
      },
    );
    expect(unknown.status).toBe(404);
    const { rows } = await stack.pg.query(
      "SELECT count(*)::int AS n FROM api_keys WHERE name = 'k'",
    );
    expect(rows[0].n).toBe(0);
  });
});
