import { createTenant, event, ingest, request } from './support/api';
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
    }
    const refused = await request(app, 'GET', '/v1/windows', { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
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
});
