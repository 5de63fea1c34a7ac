import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Writable } from 'node:stream';
import { LiveEvents } from '../src/live/live-events';
import { Metrics } from '../src/infra/metrics/metrics';
import { AccessTokens, AUDIENCES } from '../src/auth/access-tokens';
import { createKey, createTenant } from './support/api';
import { eventually, TestStack } from './support/harness';
import { SseClient } from './support/sse';

const BUFFER_BYTES = 16_384;

async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** A request with no body (the helper in support/api.ts always sends a JSON content type). */
async function call(
  app: NestFastifyApplication,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  headers: Record<string, string>,
) {
  const response = await app.inject({ method, url, headers });
  return {
    status: response.statusCode,
    body: response.body ? JSON.parse(response.body) : undefined,
  };
}

async function metric(app: NestFastifyApplication, name: string, labels = ''): Promise<number> {
  const text = await app.get(Metrics).registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

/** A window.closed-shaped event of about `bytes` bytes, published as the closer would. */
function bulky(customerId: string, bytes: number) {
  return { type: 'window.closed' as const, customerId, data: { padding: 'x'.repeat(bytes) } };
}

describe('the live stream at its limits', () => {
  let stack: TestStack;
  let a: NestFastifyApplication;
  let b: NestFastifyApplication;
  let urlA: string;
  let urlB: string;
  const clients: SseClient[] = [];
  const lines: string[] = [];

  const open = async (url: string, headers: Record<string, string>) => {
    const client = await SseClient.open(url, headers);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await TestStack.create({
      LIVE_MAX_STREAMS_PER_TENANT: '2',
      LIVE_CLIENT_BUFFER_BYTES: String(BUFFER_BYTES),
      LIVE_HISTORY_MAX_EVENTS: '100',
      LIVE_HEARTBEAT_SECONDS: '1',
      API_KEY_CACHE_SECONDS: '1',
    });
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    a = await stack.start({ LOG_LEVEL: 'info', LOG_REQUESTS: 'true' }, { logDestination: log });
    b = await stack.start();
    urlA = await listen(a);
    urlB = await listen(b);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack.dispose();
  });

  it("caps a tenant's streams across instances: 429 beyond, a slot again once one closes", async () => {
    const { key } = await createTenant(a, 'capped');
    const headers = { 'x-api-key': key };
    const onA = await open(`${urlA}/v1/stream`, headers);
    const onB = await open(`${urlB}/v1/stream`, headers);
    expect([onA.status, onB.status]).toEqual([200, 200]);

    const third = await open(`${urlA}/v1/stream`, headers);
    expect(third.status).toBe(429);
    expect(third.response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(third.response.headers['retry-after']).toBe('1');
    expect(JSON.parse(await third.body())).toMatchObject({ status: 429, code: 'rate_limited' });
    // Another tenant is not counted against this one.
    const other = await createTenant(a, 'uncapped');
    expect((await open(`${urlB}/v1/stream`, { 'x-api-key': other.key })).status).toBe(200);

    onB.close();
    await eventually(async () => {
      const again = await open(`${urlA}/v1/stream`, headers);
      expect(again.status).toBe(200);
    }, 5000);
  });

  it('drops a stream that stops reading, with a final event, and holds its memory to the bound', async () => {
    const { tenantId, key } = await createTenant(a, 'slow');
    const slow = await open(`${urlA}/v1/stream`, { 'x-api-key': key });
    const reader = await open(`${urlA}/v1/stream`, { 'x-api-key': key });
    await slow.waitFor('the opening position', (c) => c.lastEventId !== undefined);
    slow.stopReading();

    const live = a.get(LiveEvents);
    const batch = 10;
    const eventBytes = 2000;
    let published = 0;
    let mostBuffered = 0;
    // Until the kernel's socket buffers are full and the bound is passed: a few megabytes.
    while ((await metric(a, 'tally_live_streams_dropped_total', '{reason="slow"}')) < 1) {
      if (published > 40_000) throw new Error('the slow stream was never dropped');
      await live.publish(
        tenantId,
        Array.from({ length: batch }, (_, i) => bulky(`c-${i}`, eventBytes)),
      );
      published += batch;
      mostBuffered = Math.max(mostBuffered, await metric(a, 'tally_live_stream_buffered_bytes'));
    }
    // The gauge sums the instance's streams, the reader's too (on a busy machine it can hold a
    // batch not yet taken by the kernel): each of the two at most the bound plus the one batch
    // that found it passed, and the final frame.
    const perStream = BUFFER_BYTES + batch * (eventBytes + 300);
    expect(mostBuffered).toBeLessThanOrEqual(2 * perStream + 1000);

    // The reader kept up and lost nothing.
    await reader.waitFor('every event', (c) => c.events.length === published, 30_000);
    expect(reader.ended).toBe(false);

    // The slow stream, read again, ends with the final event telling it why.
    slow.response.resume();
    slow.response.socket.resume();
    await slow.waitFor('its end', (c) => c.ended, 15_000);
    const last = slow.events[slow.events.length - 1];
    expect(last.event).toBe('dropped');
    expect(JSON.parse(last.data).data.reason).toBe('slow');
    expect(slow.retryMs).toBe(10_000);
    expect(slow.events.length).toBeLessThan(published);
    expect(await metric(a, 'tally_live_streams_dropped_total', '{reason="slow"}')).toBe(1);
  });

  it('resets a stream whose Last-Event-ID the bounded history no longer reaches', async () => {
    const { tenantId, key } = await createTenant(a, 'gap');
    const live = a.get(LiveEvents);
    const [firstEvent] = await live.publish(tenantId, [bulky('g-1', 10)]);
    // Past LIVE_HISTORY_MAX_EVENTS (100): the first is trimmed.
    for (let i = 0; i < 3; i++) {
      await live.publish(
        tenantId,
        Array.from({ length: 60 }, () => bulky('g-2', 10)),
      );
    }
    const stream = await open(`${urlB}/v1/stream`, {
      'x-api-key': key,
      'last-event-id': firstEvent.id,
    });
    await stream.waitFor('the reset', (c) => c.events.length > 0);
    const [reset] = stream.events;
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toMatchObject({
      type: 'reset',
      data: { reason: 'history-gap' },
    });
    // It continues from the history's head: the next event follows, nothing older.
    const [next] = await live.publish(tenantId, [bulky('g-3', 10)]);
    await stream.waitFor('the next event', (c) => c.events.length === 2);
    expect(stream.events[1].id).toBe(next.id);

    // An id within the history resumes without a reset.
    const kept = await SseClient.open(`${urlB}/v1/stream`, {
      'x-api-key': key,
      'last-event-id': reset.id!,
    });
    clients.push(kept);
    await kept.waitFor('the event after it', (c) => c.events.length === 1);
    expect(kept.events.map((e) => e.id)).toEqual([next.id]);

    const malformed = await open(`${urlB}/v1/stream`, { 'x-api-key': key, 'last-event-id': 'x' });
    expect(malformed.status).toBe(400);
  });

  it('ends a stream whose key is revoked, with a final event', async () => {
    const tenant = await createTenant(a, 'revoked');
    const reader = await createKey(a, tenant.key, ['read']);
    const stream = await open(`${urlA}/v1/stream`, { 'x-api-key': reader });
    expect(stream.status).toBe(200);
    const keys = await call(a, 'GET', '/v1/api-keys', { 'x-api-key': tenant.key });
    const id = keys.body.data.find((k: { scopes: string[] }) => k.scopes.join() === 'read').id;
    expect(
      (await call(a, 'DELETE', `/v1/api-keys/${id}`, { 'x-api-key': tenant.key })).status,
    ).toBe(204);
    await stream.waitFor('its end', (c) => c.ended, 5000);
    const last = stream.events[stream.events.length - 1];
    expect(last.event).toBe('dropped');
    expect(JSON.parse(last.data).data.reason).toBe('revoked');
  });

  describe('stream tickets', () => {
    let tenant: { tenantId: string; key: string };
    const ticket = (headers: Record<string, string>) =>
      call(a, 'POST', '/v1/auth/stream-ticket', headers);
    const token = async () =>
      (await call(a, 'POST', '/v1/auth/token', { 'x-api-key': tenant.key })).body.accessToken;

    beforeAll(async () => {
      tenant = await createTenant(a, 'tickets');
    });

    it('opens the stream once, from a key or a bearer token with read scope', async () => {
      const issued = await ticket({ authorization: `Bearer ${await token()}` });
      expect(issued.status).toBe(200);
      expect(issued.body.expiresIn).toBe(60);

      const url = `${urlA}/v1/stream?ticket=${issued.body.ticket}`;
      const first = await open(url, {});
      expect(first.status).toBe(200);
      first.close();
      const again = await open(url, {});
      expect(again.status).toBe(401);
      expect(JSON.parse(await again.body()).detail).toBe(
        'The stream ticket has been used already.',
      );

      const ingestOnly = await createKey(a, tenant.key, ['ingest']);
      expect((await ticket({ 'x-api-key': ingestOnly })).status).toBe(403);
    });

    it('is accepted nowhere but the stream, nor anything else in its place', async () => {
      const { ticket: spare } = (await ticket({ 'x-api-key': tenant.key })).body;
      // As a bearer token, or in ?ticket= on another route: no credential there.
      const asBearer = await call(a, 'GET', '/v1/windows', { authorization: `Bearer ${spare}` });
      expect(asBearer.status).toBe(401);
      expect((await call(a, 'GET', `/v1/windows?ticket=${spare}`, {})).status).toBe(401);
      // A bearer token in the ticket's place is refused (another audience).
      expect((await open(`${urlA}/v1/stream?ticket=${await token()}`, {})).status).toBe(401);
      // Both a header and a ticket: which one counts is not guessed.
      const both = await open(`${urlA}/v1/stream?ticket=${spare}`, { 'x-api-key': tenant.key });
      expect(both.status).toBe(400);
      // Still unspent after all that, so the refusals above did not use it.
      expect((await open(`${urlA}/v1/stream?ticket=${spare}`, {})).status).toBe(200);
    });

    it('expires', async () => {
      const [principal] = [{ tenantId: tenant.tenantId, keyId: '', scopes: ['read' as const] }];
      const keys = await call(a, 'GET', '/v1/api-keys', { 'x-api-key': tenant.key });
      principal.keyId = keys.body.data[0].id;
      const short = await a.get(AccessTokens).sign(principal, {
        audience: AUDIENCES.streamTicket,
        ttlSeconds: 1,
        jti: 'expiring-ticket',
      });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const late = await open(`${urlA}/v1/stream?ticket=${short}`, {});
      expect(late.status).toBe(401);
      expect(JSON.parse(await late.body()).detail).toBe('The stream ticket has expired.');
    });

    it('never reaches the request log', () => {
      const streamLines = lines.filter((l) => l.includes('/v1/stream'));
      expect(streamLines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toMatch(/ticket=/);
    });
  });

  it('ends its streams at shutdown, at once, so the instance stops without waiting for them', async () => {
    const { key } = await createTenant(b, 'shutdown');
    const stream = await open(`${urlB}/v1/stream`, { 'x-api-key': key });
    expect(stream.status).toBe(200);
    const started = Date.now();
    await stack.stop(b);
    expect(Date.now() - started).toBeLessThan(3000);
    await stream.waitFor('its end', (c) => c.ended, 1000);
    expect(stream.comments).toContain('shutting down');
  });
});
