import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTenant, event, ingest, request } from './support/api';
import { ADMIN_TOKEN, TestStack } from './support/harness';

describe('security headers', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let key: string;

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    ({ key } = await createTenant(app));
  });

  afterAll(() => stack.dispose());

  const EVERY_RESPONSE = {
    'x-content-type-options': 'nosniff',
    'content-security-policy': expect.stringContaining("default-src 'self'"),
    'x-frame-options': 'SAMEORIGIN',
    'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  };

  it('are on every response: accepted, read, refused, unknown route, wrong media type', async () => {
    const headers = { 'x-api-key': key };
    const replies = {
      accepted: await ingest(
        app,
        key,
        event({ timestamp: new Date().toISOString(), customerId: 'c', apiEndpoint: '/a' }),
      ),
      read: await request(app, 'GET', '/v1/customers', { headers }),
      probe: await request(app, 'GET', '/health/live'),
      invalid: await request(app, 'POST', '/v1/customers', { headers, body: {} }),
      unauthenticated: await request(app, 'GET', '/v1/customers'),
      missing: await request(app, 'GET', '/v1/nothing'),
      unsupported: await request(app, 'POST', '/v1/events', {
        headers: { ...headers, 'content-type': 'text/plain' },
        rawBody: 'x',
      }),
    };
    for (const [name, reply] of Object.entries(replies)) {
      expect({ name, headers: reply.headers }).toEqual({
        name,
        headers: expect.objectContaining(EVERY_RESPONSE),
      });
    }
    expect(Object.values(replies).map((r) => r.status)).toEqual([
      202, 200, 200, 400, 401, 404, 415,
    ]);
  });

  it('forbid caching the responses that carry a secret', async () => {
    const tenant = await request(app, 'POST', '/v1/tenants', {
      headers: { 'x-admin-token': ADMIN_TOKEN },
      body: { name: 'secretive' },
    });
    const apiKey = await request(app, 'POST', '/v1/api-keys', {
      headers: { 'x-api-key': key },
      body: { name: 'k', scopes: ['read'] },
    });
    const issued = await app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'x-api-key': key },
    });
    const token = { status: issued.statusCode, headers: issued.headers };
    for (const [name, reply, status] of [
      ['tenant and its first key', tenant, 201],
      ['key', apiKey, 201],
      ['access token', token, 200],
    ] as const) {
      expect({ name, status: reply.status, cacheControl: reply.headers['cache-control'] }).toEqual({
        name,
        status,
        cacheControl: 'no-store',
      });
    }
  });

  it('let Swagger UI work: its scripts are same-origin files the policy allows', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    // No inline script (the policy would block it); every script a file served here.
    const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      expect(inline.trim()).toBe('');
      const src = /src="([^"]+)"/.exec(attributes)?.[1];
      const resolved = new URL(src!, 'http://tally.test/docs');
      expect(resolved.origin).toBe('http://tally.test');
      const url = resolved.pathname;
      const script = await app.inject({ method: 'GET', url });
      expect({ url, status: script.statusCode }).toEqual({ url, status: 200 });
    }
    // Its stylesheet inline and its icons as data: URIs, both allowed.
    expect(csp).toMatch(/style-src[^;]*'unsafe-inline'/);
    expect(csp).toMatch(/img-src[^;]*data:/);
  });
});
