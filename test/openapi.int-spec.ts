import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { request } from './support/api';
import { TestStack } from './support/harness';
import { registeredRoutes } from './support/routes';

interface Operation {
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  'x-required-scope'?: string;
}

describe('OpenAPI document', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let doc: {
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, unknown> };
  };

  beforeAll(async () => {
    stack = await TestStack.create();
    app = await stack.start();
    doc = (await request(app, 'GET', '/docs-json')).body;
  });

  afterAll(() => stack.dispose());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        route: `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        op,
      })),
    );

  it('describes every API route the app serves', () => {
    const served = registeredRoutes(app).filter((r) => / \/(v1|health|metrics)/.test(r));
    expect(
      operations()
        .map((o) => o.route)
        .sort(),
    ).toEqual(served);
  });

  it('declares the four security schemes, bearer as an HTTP JWT scheme, the ticket in the query', () => {
    expect(doc.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      adminToken: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }),
      streamTicket: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'ticket' }),
    });
  });

  it('describes the stream as text/event-stream, with its resume header and filters', () => {
    const op = doc.paths['/v1/stream'].get as Operation & {
      parameters: { name: string; in: string }[];
    };
    expect(Object.keys(op.responses['200'].content ?? {})).toEqual(['text/event-stream']);
    expect(op.parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'header:Last-Event-ID',
      'query:customerId',
      'query:lastEventId',
    ]);
  });

  it('gives every non-public route its security, its scope and its problem responses', () => {
    for (const { route, op } of operations()) {
      if (/ \/(health|metrics)/.test(route)) {
        expect({ route, security: op.security }).toEqual({ route, security: undefined });
        continue;
      }
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
      const expected = route.includes('/v1/tenants')
        ? ['adminToken']
        : route === 'POST /v1/auth/token'
          ? ['apiKey']
          : route === 'GET /v1/stream'
            ? ['apiKey', 'bearer', 'streamTicket']
            : ['apiKey', 'bearer'];
      expect({ route, schemes }).toEqual({ route, schemes: expected });
      if (expected.includes('bearer')) {
        expect({ route, scope: op['x-required-scope'] }).toEqual({
          route,
          scope: expect.stringMatching(/^(ingest|read|admin)$/),
        });
      }
      for (const status of ['401', '403']) {
        expect({ route, status, content: op.responses[status]?.content }).toEqual({
          route,
          status,
          content: { 'application/problem+json': expect.any(Object) },
        });
      }
      const success = Object.keys(op.responses).filter((s) => s.startsWith('2'));
      expect({ route, success: success.length }).toEqual({ route, success: 1 });
    }
  });
});

describe('OpenAPI exposure by profile', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ APP_PROFILE: 'prod' });
  });

  afterAll(() => stack.dispose());

  it('is off in prod', async () => {
    const app = await stack.start();
    expect((await request(app, 'GET', '/docs-json')).status).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(404);
  });

  it('is on in prod with DOCS_ENABLED=true', async () => {
    const app = await stack.start({ DOCS_ENABLED: 'true' });
    const reply = await request(app, 'GET', '/docs-json');
    expect(reply.status).toBe(200);
    expect(reply.body.info.title).toBe('Tally');
  });
});
