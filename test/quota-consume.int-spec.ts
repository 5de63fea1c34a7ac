import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hashKey, issueKey } from '../src/api-keys/api-key-codec';
import { createTenant, ensureCustomer, type Reply, request } from './support/api';
import { TestStack } from './support/harness';

describe('POST /v1/quotas/consume', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let second: NestFastifyApplication;
  let tenantId: string;
  let as: { headers: Record<string, string> };

  beforeAll(async () => {
    stack = await TestStack.create();
    [app, second] = [await stack.start(), await stack.start()];
    const tenant = await createTenant(app);
    tenantId = tenant.tenantId;
    as = { headers: { 'x-api-key': tenant.key } };
  });

  afterAll(() => stack.dispose());

  const setQuota = async (customerId: string, metric: string, body: unknown) => {
    await ensureCustomer(app, as.headers['x-api-key'], customerId);
    const reply = await request(app, 'PUT', `/v1/customers/${customerId}/quotas/${metric}`, {
      ...as,
      body,
    });
    expect(reply.status).toBe(200);
  };
  const consume = (target: NestFastifyApplication, body: unknown, headers = as.headers) =>
    request(target, 'POST', '/v1/quotas/consume', { headers, body });
  const status = async (customerId: string, metric = 'calls') => {
    const reply = await request(
      app,
      'GET',
      `/v1/quotas/status?customerId=${customerId}&metric=${metric}`,
      as,
    );
    expect(reply.status).toBe(200);
    return reply.body.limits as {
      period: string;
      limit: number;
      remaining: number;
      resetAt: string;
    }[];
  };
  const bucket = (customerId: string) => `${stack.prefix}{q:${tenantId}:${customerId}}`;

  it('allows exactly the limit out of 1,000 concurrent calls over two instances', async () => {
    await setQuota('hot', 'calls', { limit: 100, period: '1h', algorithm: 'sliding' });
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        consume(i % 2 === 0 ? app : second, { customerId: 'hot', metric: 'calls', units: 1 }),
      ),
    );
    const byStatus = countBy(replies.map((r) => r.status));
    expect(byStatus).toEqual({ 200: 100, 429: 900 });
    const remainders = replies.filter((r) => r.status === 200).map((r) => r.body.remaining);
    expect(new Set(remainders).size).toBe(100);
    expect(await stack.redis.hget(bucket('hot'), 'calls:3600s:c')).toBe('100');
    expect((await status('hot'))[0]).toMatchObject({ limit: 100, remaining: 0 });
  });

  it('charges every limit or none: a refusal by one leaves the others untouched', async () => {
    await setQuota('multi', 'tokens', { limit: 60, period: '7d', algorithm: 'sliding' });
    expect((await consume(app, { customerId: 'multi', metric: 'tokens', units: 30 })).status).toBe(
      200,
    );
    await setQuota('multi', 'tokens', {
      limits: [
        { limit: 40, period: '1d', algorithm: 'fixed' },
        { limit: 60, period: '7d', algorithm: 'sliding' },
      ],
    });
    const refused = await consume(app, { customerId: 'multi', metric: 'tokens', units: 35 });
    expect(refused.status).toBe(429);
    expect(refused.body.exceeded).toMatchObject({ period: '7d', limit: 60, remaining: 30 });
    expect((await status('multi', 'tokens')).map((l) => [l.period, l.remaining])).toEqual([
      ['1d', 40],
      ['7d', 30],
    ]);

    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        consume(i % 2 === 0 ? app : second, {
          customerId: 'multi',
          metric: 'tokens',
          units: 1 + (i % 7),
        }),
      ),
    );
    const units = replies.reduce((sum, r, i) => sum + (r.status === 200 ? 1 + (i % 7) : 0), 0);
    expect(units).toBeGreaterThan(0);
    expect(units).toBeLessThanOrEqual(30);
    const refusals = replies.filter((r) => r.status === 429).map((r) => r.body.exceeded.period);
    expect(new Set(refusals)).toEqual(new Set(['7d']));
    const fields = await stack.redis.hmget(bucket('multi'), 'tokens:86400s:c', 'tokens:604800s:c');
    expect(fields).toEqual([String(units), String(30 + units)]);
  });

  it('answers 429 as problem+json with Retry-After and RateLimit headers naming the limit hit', async () => {
    await setQuota('capped', 'calls', { limit: 2, period: '1h', algorithm: 'fixed' });
    const first = await consume(app, { customerId: 'capped', metric: 'calls', units: 1 });
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-policy': '"calls:3600s";q=2;w=3600',
      ratelimit: expect.stringMatching(/^"calls:3600s";r=1;t=\d+$/),
      'tally-quota-policy': 'fail-open',
    });
    expect(first.body).toMatchObject({ allowed: true, enforced: true, limit: 2, remaining: 1 });

    await consume(app, { customerId: 'capped', metric: 'calls', units: 1 });
    const refused = await consume(second, { customerId: 'capped', metric: 'calls', units: 1 });
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    const resetIn = Math.ceil((Date.parse(refused.body.resetAt) - Date.now()) / 1000);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(Math.abs(retryAfter - resetIn)).toBeLessThanOrEqual(1);
    expect(refused.headers).toMatchObject({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(retryAfter),
      'ratelimit-policy': '"calls:3600s";q=2;w=3600',
      ratelimit: `"calls:3600s";r=0;t=${retryAfter}`,
      'tally-quota-policy': 'fail-open',
    });
    expect(refused.body).toMatchObject({
      type: 'https://tally.dev/problems/rate-limited',
      status: 429,
      code: 'rate_limited',
      allowed: false,
      limit: 2,
      remaining: 0,
      retryAt: refused.body.resetAt,
      exceeded: { metric: 'calls', period: '1h', algorithm: 'fixed', limit: 2, remaining: 0 },
    });
    expect(refused.body.detail).toContain('2 per 1h (fixed)');
  });

  it('refuses a call larger than the limit for good, saying so', async () => {
    await setQuota('small', 'tokens', { limit: 10, period: '1m', algorithm: 'sliding' });
    const reply = await consume(app, { customerId: 'small', metric: 'tokens', units: 11 });
    expect(reply.status).toBe(429);
    expect(reply.body.retryAt).toBeNull();
    expect(reply.body.detail).toContain('can never pass');
    expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it.each(['fixed', 'sliding'])(
    'makes a %s 2s quota whole again once its period has passed',
    async (algorithm) => {
      const customerId = `roll-${algorithm}`;
      await setQuota(customerId, 'calls', { limit: 3, period: '2s', algorithm });
      const call = () => consume(app, { customerId, metric: 'calls', units: 1 });
      // Start just after a boundary, so the four calls share one 2 s window.
      await sleepUntil(Math.ceil(Date.now() / 2000) * 2000);
      const statuses = [(await call()).status, (await call()).status, (await call()).status];
      const refused = await call();
      expect([...statuses, refused.status]).toEqual([200, 200, 200, 429]);
      expect(await stack.redis.pttl(bucket(customerId))).toBeGreaterThan(0);

      await sleepUntil(Date.parse(refused.body.resetAt));
      expect(await stack.redis.exists(bucket(customerId))).toBe(0);
      expect((await status(customerId))[0].remaining).toBe(3);
      expect((await call()).body).toMatchObject({ allowed: true, remaining: 2 });
    },
  );

  it('reads status without consuming, and an admin reset makes every limit whole', async () => {
    await setQuota('resettable', 'calls', { limit: 5, period: '1d', algorithm: 'fixed' });
    await consume(app, { customerId: 'resettable', metric: 'calls', units: 4 });
    expect((await status('resettable'))[0].remaining).toBe(1);
    expect((await status('resettable'))[0].remaining).toBe(1);
    const all = await request(app, 'GET', '/v1/quotas/status?customerId=resettable', as);
    expect(all.body).toMatchObject({ customerId: 'resettable', limits: [{ metric: 'calls' }] });

    const reset = await app.inject({
      method: 'POST',
      url: '/v1/customers/resettable/quotas/reset',
      headers: as.headers,
    });
    expect(reset.statusCode).toBe(204);
    expect((await status('resettable'))[0].remaining).toBe(5);
  });

  it('refuses bad input with problem+json and consumes nothing', async () => {
    await setQuota('careful', 'calls', { limit: 10, period: '1h', algorithm: 'fixed' });
    const cases: [unknown, string][] = [
      [{ customerId: 'careful', metric: 'calls', units: -1 }, '/units'],
      [{ customerId: 'careful', metric: 'calls', units: 0 }, '/units'],
      [{ customerId: 'careful', metric: 'calls', units: 1.5 }, '/units'],
      [{ customerId: 'careful', metric: 'calls', units: 1e13 }, '/units'],
      [{ customerId: 'careful', metric: 'calls', units: '1' }, '/units'],
      [{ customerId: 'careful', metric: 'bytes', units: 1 }, '/metric'],
      [{ customerId: 'careful', units: 1 }, '/metric'],
      [{ metric: 'calls', units: 1 }, '/customerId'],
      [{ customerId: '', metric: 'calls', units: 1 }, '/customerId'],
      [{ customerId: 'careful', metric: 'calls', units: 1, extra: true }, '/extra'],
    ];
    for (const [body, path] of cases) {
      const reply = await consume(app, body);
      expect({ body, status: reply.status, paths: paths(reply) }).toEqual({
        body,
        status: 400,
        paths: [path],
      });
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const valid = { customerId: 'careful', metric: 'calls', units: 1 };
    expect((await consume(app, valid, {})).status).toBe(401);
    expect((await consume(app, valid, { 'x-api-key': 'tly_bogus' })).status).toBe(401);
    const readOnly = await scopedKey(['read']);
    const forbidden = await consume(app, valid, { 'x-api-key': readOnly });
    expect(forbidden).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect((await status('careful'))[0].remaining).toBe(10);
    expect(await stack.redis.exists(bucket('careful'))).toBe(0);
  });

  it('keeps tenants apart: the same customer id is another bucket in another tenant', async () => {
    const other = await createTenant(app, 'other');
    const reply = await consume(
      app,
      { customerId: 'hot', metric: 'calls', units: 1 },
      {
        'x-api-key': other.key,
      },
    );
    expect(reply.body).toMatchObject({ allowed: true, limit: null });
  });

  async function scopedKey(scopes: string[]): Promise<string> {
    const { key, prefix } = issueKey();
    await stack.pg.query(
      'INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, 'scoped', prefix, hashKey(key, stack.env.API_KEY_SECRET!), scopes],
    );
    return key;
  }
});

function countBy(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

function paths(reply: Reply): string[] {
  return (reply.body.errors ?? []).map((e: { path: string }) => e.path);
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now()) + 20));
}
