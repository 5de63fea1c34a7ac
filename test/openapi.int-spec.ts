import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withExampleTimes } from '../src/common/openapi/document';
import { createTenant, request } from './support/api';
import { TestStack } from './support/harness';
import { registeredRoutes } from './support/routes';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<
    string,
    { content?: Record<string, unknown>; headers?: Record<string, { $ref: string }> }
  >;
  requestBody?: {
    content: Record<string, { examples?: Record<string, { value: unknown }> }>;
  };
  'x-required-scope'?: string;
}

const COMMITTED = join(__dirname, '..', 'openapi', 'openapi.json');
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
const RATE_LIMIT_HEADERS = [
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

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
        expect({ route, security: op.security }).toEqual({ route, security: [] });
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

  it('is the committed openapi/openapi.json, which is generated without a server', () => {
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as OpenAPIObject;
    const at = new Date('2030-01-01T00:00:00Z');
    expect(withExampleTimes(doc as unknown as OpenAPIObject, at)).toEqual(
      withExampleTimes(committed, at),
    );
  });

  it('names, summarises, describes and tags every operation, each id once', () => {
    const ids = operations().map(({ route, op }) => {
      expect({ route, summary: op.summary, description: op.description }).toEqual({
        route,
        summary: expect.stringMatching(/\S/),
        description: expect.stringMatching(/\S/),
      });
      expect({ route, tags: op.tags?.length }).toEqual({ route, tags: 1 });
      expect({ route, id: op.operationId }).toEqual({
        route,
        id: expect.stringMatching(/^[a-z][A-Za-z]+$/),
      });
      return op.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    const byRoute = new Map(operations().map(({ route, op }) => [route, op.operationId]));
    expect(byRoute.get('POST /v1/events')).toBe('ingestEvents');
    expect(byRoute.get('GET /v1/windows')).toBe('listWindows');
    expect(byRoute.get('GET /v1/usage')).toBe('getUsage');
    expect(byRoute.get('POST /v1/quotas/consume')).toBe('consumeQuota');
  });

  it('documents X-Request-Id on every response, and the rate-limit answers of every key route', () => {
    for (const { route, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect({ route, status, id: response.headers?.['X-Request-Id'] }).toEqual({
          route,
          status,
          id: header('X-Request-Id'),
        });
      }
      const keyRoute = (op.security ?? []).some((s) => 'apiKey' in s);
      if (keyRoute) {
        const limited = op.responses['429']?.headers ?? {};
        for (const name of [...RATE_LIMIT_HEADERS, 'Retry-After']) {
          expect({ route, name, header: limited[name] }).toEqual({
            route,
            name,
            header: header(name),
          });
        }
        const success = Object.entries(op.responses).find(([s]) => s.startsWith('2'))?.[1];
        expect({ route, headers: Object.keys(success?.headers ?? {}) }).toEqual({
          route,
          headers: expect.arrayContaining(RATE_LIMIT_HEADERS),
        });
      }
      if (op.responses['503']) {
        expect({ route, retry: op.responses['503'].headers?.['Retry-After'] }).toEqual({
          route,
          retry: header('Retry-After'),
        });
      }
    }
  });

  it('names its schemas, the problem among them, rather than repeating them inline', () => {
    const named = (doc as unknown as OpenAPIObject).components?.schemas ?? {};
    expect(Object.keys(named)).toEqual(
      expect.arrayContaining(['Problem', 'UsageEvent', 'IngestResult', 'Customer', 'WindowPage']),
    );
    const ingest = doc.paths['/v1/events'].post;
    expect(ingest.responses['401'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
  });

  it("serves request examples that Try-it can send as they are: POST /v1/events's answer 202", async () => {
    const { key } = await createTenant(app, 'try-it');
    const examples = doc.paths['/v1/events'].post.requestBody?.content['application/json'].examples;
    expect(Object.keys(examples ?? {})).toEqual(['event', 'batch']);
    for (const { value } of Object.values(examples ?? {})) {
      expect(JSON.stringify(value)).not.toContain('tenantId');
      const reply = await request(app, 'POST', '/v1/events', {
        headers: { 'x-api-key': key },
        body: value,
      });
      expect(reply.status).toBe(202);
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
