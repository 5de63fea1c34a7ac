import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, event, ingest, request } from './support/api';
import { eventually, TestStack } from './support/harness';
import { freePort } from './support/processes';
import { reachable } from './support/services';

describe('Redis outage and back-pressure', () => {
  let redis: ChildProcess;
  let stack: TestStack;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const port = await freePort();
    // A throwaway Redis of this test's own, so killing it harms nobody else.
    redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no']);
    await eventually(async () => expect(await reachable('127.0.0.1', port)).toBe(true));
    stack = await TestStack.create({ REDIS_URL: `redis://127.0.0.1:${port}` });
    app = await stack.start({ APP_ROLE: 'api' });
  });

  afterAll(async () => {
    await stack.dispose().catch(() => undefined);
    redis.kill('SIGKILL');
  });

  it('answers 503 with Retry-After when the stream backlog is above the high-water mark', async () => {
    const limited = await stack.start({ APP_ROLE: 'api', STREAM_HIGH_WATER: '2' });
    const { key } = await createTenant(limited);
    const send = () =>
      ingest(
        limited,
        key,
        event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' }),
      );
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(202);
    const refused = await eventually(async () => {
      const reply = await send();
      expect(reply.status).toBe(503);
      return reply;
    });
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    await stack.stop(limited);
  });

  it('answers 503 with Retry-After, never a silent drop, and reports not ready', async () => {
    const { key } = await createTenant(app);
    redis.kill('SIGKILL');
    await once(redis, 'exit');
    const reply = await ingest(
      app,
      key,
      event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' }),
    );
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.body).toMatchObject({ status: 503, code: 'unavailable' });
    expect((await request(app, 'GET', '/health/ready')).status).toBe(503);
  });
});
