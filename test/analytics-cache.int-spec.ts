import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WindowCloser } from '../src/windows/window-closer';
import { createTenant, event, ingest, request } from './support/api';
import { closerByHand, eventually, TestStack } from './support/harness';
import { ThrowawayPostgres, ThrowawayRedis } from './support/throwaway';

const WINDOW_MS = 2000;

/** Answers whose Postgres part came from `source` on this instance, from /metrics. */
async function answered(app: NestFastifyApplication, source: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = new RegExp(`^tally_analytics_answers_total\\{source="${source}"\\} (\\d+)$`, 'm');
  return Number(line.exec(text)?.[1] ?? 0);
}

/** Reads of the rollups this instance made (cache misses and pre-warming), from /metrics. */
async function computations(app: NestFastifyApplication): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^tally_analytics_compute_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Events in a window far enough ahead that all of them are on time; returns its start. */
async function ingestWindow(
  app: NestFastifyApplication,
  key: string,
  customers: Record<string, number>,
): Promise<number> {
  const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
  const events = Object.entries(customers).flatMap(([customerId, count]) =>
    Array.from({ length: count }, (_, i) =>
      event({
        timestamp: new Date(start + i).toISOString(),
        customerId,
        apiEndpoint: '/api/chat',
        metadata: { tokens: 10 },
      }),
    ),
  );
  expect((await ingest(app, key, events)).status).toBe(202);
  return start;
}

async function flushWindow(closer: WindowCloser, start: number): Promise<void> {
  const due = start + WINDOW_MS + 600 - Date.now();
  if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
  await closer.closeAll();
}

describe('analytics cache: never stale after a flush', () => {
  let stack: TestStack;
  let worker: NestFastifyApplication;
  let closer: WindowCloser;
  let api: NestFastifyApplication;
  let key: string;

  beforeAll(async () => {
    stack = await TestStack.create({
      CLOSER_INTERVAL_MS: '60000',
      ANALYTICS_PREWARM_DELAY_MS: '50',
    });
    worker = await stack.start();
    closer = closerByHand(worker);
    api = await stack.start({ APP_ROLE: 'api' });
    ({ key } = await createTenant(worker, 'cached'));
  });

  afterAll(() => stack.dispose());

  const get = (app: NestFastifyApplication, url: string, headers: Record<string, string> = {}) =>
    request(app, 'GET', url, { headers: { 'x-api-key': key, ...headers } });
  const callsOf = (answer: any) =>
    Object.fromEntries(answer.data.map((r: any) => [r.customerId, r.calls]));

  it('reads top, ingests, lets the window flush, reads the new answer on both instances', async () => {
    const first = await ingestWindow(worker, key, { a: 3, b: 1 });
    await flushWindow(closer, first);
    for (const app of [worker, api]) {
      expect(callsOf((await get(app, '/v1/usage/top')).body)).toEqual({ a: 3, b: 1 });
      // Read again: now from the cache.
      const before = await answered(app, 'computed');
      expect(callsOf((await get(app, '/v1/usage/top')).body)).toEqual({ a: 3, b: 1 });
      expect(await answered(app, 'computed')).toBe(before);
    }

    const second = await ingestWindow(worker, key, { b: 4, c: 2 });
    // Open in Redis: counted from its hash on top of the cached part.
    const open = (await get(api, '/v1/usage/top')).body;
    expect(callsOf(open)).toEqual({ a: 3, b: 5, c: 2 });
    expect(open.openWindows).toBe(2);
    await flushWindow(closer, second);
    for (const app of [worker, api]) {
      const answer = (await get(app, '/v1/usage/top')).body;
      expect(callsOf(answer)).toEqual({ a: 3, b: 5, c: 2 });
      expect(answer.openWindows).toBe(0);
    }
  });

  it('pre-warms the daily answer after a flush: the next read needs no database', async () => {
    expect((await get(api, '/v1/usage/daily')).status).toBe(200);
    const start = await ingestWindow(worker, key, { d: 5 });
    const warmed = await computations(worker);
    await flushWindow(closer, start);
    // The worker that flushed recomputes the hot answer in the background.
    await eventually(async () => expect(await computations(worker)).toBeGreaterThan(warmed), 5000);
    const computed = await answered(api, 'computed');
    const answer = (await get(api, '/v1/usage/daily')).body;
    expect(answer.data.find((r: any) => r.customerId === 'd')?.calls).toBe(5);
    expect(answer.openWindows).toBe(0);
    expect(await answered(api, 'computed')).toBe(computed);
  });

  it('answers If-None-Match with 304 until a flush changes the answer', async () => {
    const url = '/v1/usage?granularity=day&groupBy=customer';
    const first = await get(api, url);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"/);
    const same = await api.inject({
      method: 'GET',
      url,
      headers: { 'x-api-key': key, 'if-none-match': etag },
    });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');
    const start = await ingestWindow(worker, key, { e: 1 });
    await flushWindow(closer, start);
    const changed = await get(api, url, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });

  /** The body as sent, and the same without its `asOf` (the Redis time of each read). */
  const sent = async (url: string, headers: Record<string, string> = {}) => {
    const reply = await api.inject({
      method: 'GET',
      url,
      headers: { 'x-api-key': key, ...headers },
    });
    const asOf = /,"asOf":"([^"]+)"}$/.exec(reply.body)?.[1];
    return { reply, asOf, content: reply.body.replace(/,"asOf":"[^"]+"}$/, '}') };
  };

  it('sends an answer with no window open in its range as kept, until a window opens or a flush', async () => {
    const url = '/v1/usage/daily';
    const flushed = await ingestWindow(worker, key, { f: 2 });
    await flushWindow(closer, flushed);
    const first = await sent(url);
    expect(JSON.parse(first.reply.body).data.find((r: any) => r.customerId === 'f')?.calls).toBe(2);

    const kept = await answered(api, 'kept');
    const computed = await answered(api, 'computed');
    // Redis time moves on between the two reads (asOf is in milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await sent(url);
    expect(await answered(api, 'kept')).toBe(kept + 1);
    expect(await answered(api, 'computed')).toBe(computed);
    expect(again.content).toBe(first.content);
    expect(again.reply.headers.etag).toBe(first.reply.headers.etag);
    expect(again.reply.headers['cache-control']).toBe('private, no-cache');
    expect(again.reply.headers['content-type']).toBe('application/json; charset=utf-8');
    // asOf is still this read's own Redis time, not the one the answer was rendered at.
    expect(Date.parse(again.asOf!)).toBeGreaterThan(Date.parse(first.asOf!));
    const revalidated = await sent(url, { 'if-none-match': String(first.reply.headers.etag) });
    expect(revalidated.reply.statusCode).toBe(304);
    expect(await answered(api, 'kept')).toBe(kept + 2);

    // A window open in the range: merged as before, never the kept answer.
    const open = await ingestWindow(worker, key, { f: 3 });
    const withOpen = JSON.parse((await sent(url)).reply.body);
    expect(withOpen.data.find((r: any) => r.customerId === 'f')?.calls).toBe(5);
    expect(withOpen.openWindows).toBe(1);
    expect(await answered(api, 'kept')).toBe(kept + 2);

    await flushWindow(closer, open);
    const afterFlush = await sent(url);
    expect(JSON.parse(afterFlush.reply.body).openWindows).toBe(0);
    expect(afterFlush.content).not.toBe(first.content);
    expect(afterFlush.reply.headers.etag).not.toBe(first.reply.headers.etag);
    expect(
      JSON.parse(afterFlush.reply.body).data.find((r: any) => r.customerId === 'f')?.calls,
    ).toBe(5);
  });

  it('keeps an answer per shape: a part shared by several answers never sends one for another', async () => {
    const start = await ingestWindow(worker, key, { g: 1, h: 2 });
    await flushWindow(closer, start);
    // top caches every group's totals once; limit and by only shape the answer.
    for (const limit of [1, 2]) {
      for (let read = 0; read < 2; read++) {
        expect((await get(api, `/v1/usage/top?limit=${limit}`)).body.data).toHaveLength(limit);
      }
    }
    // UTC and Etc/UTC have the same buckets: one part, two answers.
    for (const timezone of ['UTC', 'Etc/UTC', 'UTC']) {
      const answer = (await get(api, `/v1/usage?granularity=hour&timezone=${timezone}`)).body;
      expect(answer.timezone).toBe(timezone);
    }
  });
});

describe('analytics with Redis down', () => {
  let redis: ThrowawayRedis;
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    stack = await TestStack.create({ REDIS_URL: redis.url, CLOSER_INTERVAL_MS: '60000' });
    app = await stack.start();
    ({ key } = await createTenant(app, 'no-redis'));
  });

  afterAll(async () => {
    await stack.dispose();
    await redis.dispose();
  });

  it('answers from the database, says open windows are left out, and never 500s', async () => {
    const start = await ingestWindow(app, key, { a: 2, b: 3 });
    await flushWindow(app.get(WindowCloser), start);
    const get = (url: string) => request(app, 'GET', url, { headers: { 'x-api-key': key } });
    const cachedUrl = '/v1/usage/top';
    expect((await get(cachedUrl)).status).toBe(200);

    await redis.kill();
    const fresh = await get('/v1/usage?granularity=minute&groupBy=customer');
    expect(fresh.status).toBe(200);
    expect(fresh.body.includesOpenWindows).toBe(false);
    expect(Object.fromEntries(fresh.body.data.map((r: any) => [r.customerId, r.calls]))).toEqual({
      a: 2,
      b: 3,
    });
    const recent = await get(cachedUrl);
    expect(recent.status).toBe(200);
    expect(recent.body.data).toEqual([
      { customerId: 'b', calls: 3, tokens: 30 },
      { customerId: 'a', calls: 2, tokens: 20 },
    ]);
    expect(await answered(app, 'recent')).toBeGreaterThan(0);
    // Open windows are Redis itself.
    const live = await get('/v1/usage/live');
    expect(live.status).toBe(503);
    expect(live.headers['retry-after']).toBeDefined();
  });
});

describe('analytics with Postgres down', () => {
  let postgres: ThrowawayPostgres;
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;

  beforeAll(async () => {
    postgres = await ThrowawayPostgres.start();
    stack = await TestStack.create(
      { CLOSER_INTERVAL_MS: '60000', API_KEY_CACHE_SECONDS: '60' },
      { databaseServer: postgres.url },
    );
    app = await stack.start();
    ({ key } = await createTenant(app, 'no-postgres'));
  });

  afterAll(async () => {
    await stack.dispose();
    await postgres.dispose();
  });

  it('answers what is cached and 503s with Retry-After for the rest, never 500', async () => {
    const start = await ingestWindow(app, key, { a: 4 });
    await flushWindow(app.get(WindowCloser), start);
    const get = (url: string) => request(app, 'GET', url, { headers: { 'x-api-key': key } });
    const cached = await get('/v1/usage/daily');
    expect(cached.status).toBe(200);

    await postgres.stop('immediate');
    const again = await get('/v1/usage/daily');
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(cached.body.data);
    for (const url of ['/v1/usage?granularity=day&groupBy=customer', '/v1/events?customerId=a']) {
      const reply = await get(url);
      expect({ url, status: reply.status }).toEqual({ url, status: 503 });
      expect(reply.headers['retry-after']).toBeDefined();
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });
});
