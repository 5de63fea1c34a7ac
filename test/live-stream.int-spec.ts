import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, ingest, request } from './support/api';
import { expectedWindows, round2 } from './support/expected';
import { TestStack } from './support/harness';
import { SseClient } from './support/sse';
import { workload } from './support/workload';

const WINDOW_MS = 2000;

/** Listens on a free loopback port; the stream needs a real socket, not Fastify's inject. */
async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** A window's totals as the stream's events carry them, keyed as expectedWindows keys them. */
function key(customerId: string, windowStart: string): string {
  return `${customerId}@${windowStart}`;
}

describe('the live stream across two instances', () => {
  let stack: TestStack;
  let a: NestFastifyApplication;
  let b: NestFastifyApplication;
  let urlA: string;
  let urlB: string;
  let tenant: { tenantId: string; key: string };
  /** Another tenant's stream, open through every test: it must receive nothing. */
  let stranger: SseClient;
  const clients: SseClient[] = [];

  const open = async (path: string, headers: Record<string, string> = {}) => {
    const client = await SseClient.open(`${urlA}${path}`, { 'x-api-key': tenant.key, ...headers });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await TestStack.create({ SHARDS: '4', LIVE_HEARTBEAT_SECONDS: '1' });
    a = await stack.start();
    b = await stack.start();
    urlA = await listen(a);
    urlB = await listen(b);
    tenant = await createTenant(a);
    const other = await createTenant(a, 'other');
    // Asking for the first tenant's customer ids, on the instance its streams are on.
    stranger = await SseClient.open(`${urlA}/v1/stream?customerId=c-1&customerId=c-2`, {
      'x-api-key': other.key,
    });
    clients.push(stranger);
    expect(stranger.status).toBe(200);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack.dispose();
  });

  it('delivers usage.updated within 2 s and window.closed with exact totals, posted to the other instance', async () => {
    const client = await open('/v1/stream');
    expect(client.status).toBe(200);
    expect(client.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    // A fresh stream is told where it starts before anything happens.
    await client.waitFor('the opening position', (c) => c.lastEventId !== undefined);

    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    const events = workload(60, ['c-1', 'c-2', 'c-3'], [start]);
    const posted = Date.now();
    const reply = await ingest(b, tenant.key, events);
    expect(reply.status).toBe(202);

    await client.waitFor('usage.updated for every customer', (c) =>
      ['c-1', 'c-2', 'c-3'].every((id) => c.of('usage.updated').some((e) => e.customerId === id)),
    );
    const delays = ['c-1', 'c-2', 'c-3'].map(
      (id) =>
        client.events.find((e) => e.event === 'usage.updated' && e.data.includes(`"${id}"`))!
          .receivedAt - posted,
    );
    expect(Math.max(...delays)).toBeLessThan(2000);

    const expected = expectedWindows(events, WINDOW_MS);
    const lastUsage = new Map<string, { calls: number; tokens: number }>();
    for (const e of client.of('usage.updated')) {
      for (const w of e.data.windows) lastUsage.set(key(e.customerId, w.windowStart), w);
    }
    for (const [k, want] of expected) {
      expect({ k, calls: lastUsage.get(k)?.calls }).toEqual({ k, calls: want.totalCalls });
    }

    await client.waitFor(
      'window.closed for every window',
      (c) => c.of('window.closed').length >= expected.size,
      15_000,
    );
    const closed = client.of('window.closed');
    expect(closed).toHaveLength(expected.size);
    for (const e of closed) {
      const want = expected.get(key(e.customerId, e.data.windowStart))!;
      expect(e.data.tenantId).toBe(tenant.tenantId);
      expect(e.data.version).toBe(1);
      expect(e.data.aggregations).toEqual({
        totalCalls: want.totalCalls,
        totalTokens: want.totalTokens,
        totalInputTokens: want.totalInputTokens,
        totalOutputTokens: want.totalOutputTokens,
        avgLatencyMs: want.latencyCount ? round2(want.latencySum / want.latencyCount) : null,
        lateEvents: 0,
        byEndpoint: want.byEndpoint,
        byModel: want.byModel,
      });
    }
    // Every event carries its id in the envelope, and the ids only go up.
    const ids = client.events.map((e) => e.id!);
    expect([...ids].sort(compare)).toEqual(ids);
    expect(client.of('window.closed').map((e) => e.id)).toEqual(
      client.events.filter((e) => e.event === 'window.closed').map((e) => e.id),
    );
  });

  it('resumes from Last-Event-ID on the other instance: nothing missed, nothing repeated', async () => {
    const reference = await open('/v1/stream');
    const first = await open('/v1/stream');
    await first.waitFor('the opening position', (c) => c.lastEventId !== undefined);
    const windowStart = () => Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    await ingest(b, tenant.key, workload(30, ['r-1', 'r-2', 'r-3'], [windowStart()]));
    await first.waitFor('some events', (c) => c.events.length >= 3);
    first.close();
    const seen = first.events.map((e) => e.id!);
    const resumeFrom = first.lastEventId!;
    expect(resumeFrom).toBe(seen[seen.length - 1]);

    // While it is away: more counts, and the windows of both batches close.
    await ingest(b, tenant.key, workload(30, ['r-1', 'r-2', 'r-4'], [windowStart()]));
    await reference.waitFor(
      'the windows of both batches to close',
      (c) => new Set(c.of('window.closed').map((e) => e.customerId)).size === 4,
      15_000,
    );

    const second = await SseClient.open(`${urlB}/v1/stream`, {
      'x-api-key': tenant.key,
      'last-event-id': resumeFrom,
    });
    clients.push(second);
    const last = () => reference.events[reference.events.length - 1].id!;
    await second.waitFor('the reference stream', (c) => c.events.at(-1)?.id === last());

    const missed = second.events.map((e) => e.id!);
    const all = reference.events.map((e) => e.id!).filter((id) => compare(id, seen[0]) >= 0);
    expect([...seen, ...missed]).toEqual(all);
    expect(new Set([...seen, ...missed]).size).toBe(all.length);
    expect(second.of('reset')).toEqual([]);
    // What it missed is the same data, not just the same ids.
    expect(second.events.map((e) => e.data)).toEqual(
      reference.events.filter((e) => missed.includes(e.id!)).map((e) => e.data),
    );
  });

  it("sends only the customers asked for, and moves a filtered stream's position past the rest", async () => {
    const everything = await open('/v1/stream');
    const filtered = await open('/v1/stream?customerId=f-1');
    await filtered.waitFor('the opening position', (c) => c.lastEventId !== undefined);
    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    await ingest(b, tenant.key, workload(20, ['f-1', 'f-2'], [start]));
    await everything.waitFor(
      'both windows closed',
      (c) => c.of('window.closed').filter((e) => e.customerId.startsWith('f-')).length === 2,
      15_000,
    );
    const last = everything.events[everything.events.length - 1];
    await filtered.waitFor('f-1 closed', (c) => c.of('window.closed').length > 0);
    expect(filtered.of('window.closed').map((e) => e.customerId)).toEqual(['f-1']);
    expect(new Set(filtered.events.map((e) => JSON.parse(e.data).customerId))).toEqual(
      new Set(['f-1']),
    );
    // Its heartbeat tells it the tenant's latest id, so a resume does not replay f-2's events.
    await filtered.waitFor('its position at the last event', (c) => c.lastEventId === last.id);
  });

  it('tells producers at every open that the tenant is watched, not only at the first', async () => {
    // Heartbeats (which also renew the mark) far apart: only the open can set it again.
    const c = await stack.start({ LIVE_HEARTBEAT_SECONDS: '60' });
    const urlC = await listen(c);
    const { tenantId, key: tenantKey } = await createTenant(c, 'marked');
    const first = await SseClient.open(`${urlC}/v1/stream`, { 'x-api-key': tenantKey });
    clients.push(first);
    await first.waitFor('the opening position', (s) => s.lastEventId !== undefined);
    // The mark is lost (Redis restarted without it, say) while the first stream stays.
    await stack.redis.del(`${stack.prefix}live:${tenantId}:watched`);
    const second = await SseClient.open(`${urlC}/v1/stream`, { 'x-api-key': tenantKey });
    clients.push(second);
    await second.waitFor('the opening position', (s) => s.lastEventId !== undefined);
    const start = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    await ingest(b, tenantKey, workload(5, ['w-1'], [start]));
    await second.waitFor('usage.updated', (s) => s.of('usage.updated').length > 0, 2000);
  });

  it("never shows a tenant another tenant's events, whatever customers it names", () => {
    expect(stranger.events).toEqual([]);
    expect(stranger.ended).toBe(false);
  });

  it('answers 401 without a credential, as a problem', async () => {
    const client = await SseClient.open(`${urlA}/v1/stream`);
    clients.push(client);
    expect(client.status).toBe(401);
    expect(client.response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(await client.body())).toMatchObject({ status: 401 });
    const viaInject = await request(a, 'GET', '/v1/stream?customerId=');
    expect(viaInject.status).toBe(401);
  });
});

function compare(x: string, y: string): number {
  const [xm, xs] = x.split('-').map(Number);
  const [ym, ys] = y.split('-').map(Number);
  return xm === ym ? xs - ys : xm - ym;
}
