import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant } from './support/api';
import { TestStack } from './support/harness';

const ORIGIN = 'https://app.example.com';

const preflight = (app: NestFastifyApplication, origin: string, method = 'POST') =>
  app.inject({
    method: 'OPTIONS',
    url: '/v1/events',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'x-api-key,content-type',
    },
  });

describe('CORS', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create();
  });

  afterAll(() => stack.dispose());

  it('is off by default: a preflight is not answered, no answer names an origin', async () => {
    const app = await stack.start();
    const reply = await preflight(app, ORIGIN);
    expect(reply.statusCode).toBe(404);
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    const read = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: ORIGIN },
    });
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('with CORS_ORIGINS answers the preflight of an allowed origin, before authentication', async () => {
    const app = await stack.start({ CORS_ORIGINS: `${ORIGIN}, http://localhost:5173` });
    const reply = await preflight(app, ORIGIN);
    expect(reply.statusCode).toBe(204);
    expect(reply.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': expect.stringContaining('POST'),
      'access-control-allow-headers': expect.stringMatching(/X-API-Key/i),
      'access-control-max-age': '600',
    });
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();

    const { key } = await createTenant(app);
    const read = await app.inject({
      method: 'GET',
      url: '/v1/customers',
      headers: { origin: ORIGIN, 'x-api-key': key },
    });
    expect(read.statusCode).toBe(200);
    expect(read.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(read.headers['access-control-expose-headers']).toEqual(
      expect.stringContaining('RateLimit-Remaining'),
    );
    expect(read.headers['access-control-expose-headers']).toEqual(
      expect.stringContaining('X-Request-Id'),
    );
  });

  it('names no origin to one not listed', async () => {
    const app = await stack.start({ CORS_ORIGINS: ORIGIN });
    const reply = await preflight(app, 'https://evil.example.net');
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses to start with a CORS_ORIGINS entry that is not an origin', async () => {
    await expect(stack.start({ CORS_ORIGINS: 'app.example.com' })).rejects.toThrow(
      /CORS_ORIGINS has 'app.example.com', not an origin/,
    );
  });
});
