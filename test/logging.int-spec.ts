import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { WindowsService } from '../src/windows/windows.service';
import { createTenant, event, request } from './support/api';
import { ADMIN_TOKEN, TestStack } from './support/harness';

/** A pino destination that keeps every line, parsed. */
class CapturedLog implements DestinationStream {
  raw = '';

  write(line: string): void {
    this.raw += line;
  }

  get lines(): Record<string, any>[] {
    return this.raw
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, any>);
  }

  of(requestId: string): Record<string, any>[] {
    return this.lines.filter((line) => line.requestId === requestId);
  }
}

describe('structured logs', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;
  const log = new CapturedLog();

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start({ LOG_LEVEL: 'info', LOG_REQUESTS: 'true' }, { logDestination: log });
    ({ key } = await createTenant(app));
  });

  afterAll(() => stack.dispose());

  it('writes the request line as JSON with the caller’s X-Request-Id, and no credential', async () => {
    const body = event({
      timestamp: new Date().toISOString(),
      customerId: 'c-1',
      apiEndpoint: '/x',
    });
    const reply = await request(app, 'POST', '/v1/events?note=private', {
      headers: { 'x-api-key': key, 'x-request-id': 'abc-123' },
      body,
    });
    expect(reply.status).toBe(202);
    expect(reply.headers['x-request-id']).toBe('abc-123');

    expect(log.of('abc-123')).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'request completed',
        requestId: 'abc-123',
        method: 'POST',
        path: '/v1/events',
        route: '/v1/events',
        status: 202,
        instance: expect.any(String),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      }),
    ]);
    expect(log.raw).not.toContain(key);
    expect(log.raw).not.toContain(ADMIN_TOKEN);
    expect(log.raw).not.toContain('private');
  });

  it('gives the lines of Nest loggers inside a request the request id', async () => {
    jest
      .spyOn(app.get(WindowsService), 'list')
      .mockRejectedValueOnce(new Error('the windows table is on fire'));
    const reply = await request(app, 'GET', '/v1/windows', {
      headers: { 'x-api-key': key, 'x-request-id': 'abc-123-boom' },
    });
    expect(reply.status).toBe(500);

    const [error, completed] = log.of('abc-123-boom');
    expect(error).toMatchObject({
      level: 'error',
      context: 'ProblemFilter',
      msg: 'unhandled error',
      errorId: reply.body.errorId,
      err: { message: 'the windows table is on fire', stack: expect.stringContaining('Error') },
    });
    expect(completed).toMatchObject({ msg: 'request completed', status: 500 });
  });

  it('makes up an id when the caller sends none (or an unusable one)', async () => {
    const reply = await request(app, 'GET', '/health/live', {
      headers: { 'x-request-id': 'not an id; has spaces' },
    });
    const id = reply.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.of(id)).toEqual([expect.objectContaining({ route: '/health/live', status: 200 })]);
  });

  it('logs outside requests without a request id', () => {
    const startup = log.lines.filter((line) => line.context === 'NestApplication');
    expect(startup).toEqual([
      expect.objectContaining({ level: 'info', msg: 'Nest application successfully started' }),
    ]);
    expect(startup[0]).not.toHaveProperty('requestId');
  });
});

describe('request lines', () => {
  it('are off in prod unless LOG_REQUESTS asks for them', async () => {
    const stack = await TestStack.create({ APP_PROFILE: 'prod' });
    try {
      const quiet = new CapturedLog();
      const app = await stack.start({}, { logDestination: quiet });
      await request(app, 'GET', '/health/live', { headers: { 'x-request-id': 'quiet-1' } });
      expect(quiet.of('quiet-1')).toEqual([]);
      expect(quiet.lines.length).toBeGreaterThan(0);
      expect(quiet.lines.every((line) => line.level !== 'debug')).toBe(true);
    } finally {
      await stack.dispose();
    }
  });
});
