import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { componentSchemas } from './component-schemas';
import { headerRefs, RATE_LIMIT_HEADERS, RESPONSE_HEADERS } from './headers';

/** The tags, one per feature, in the order Swagger UI lists them. */
const TAGS: [string, string][] = [
  ['events', 'Send usage events, and read them back.'],
  ['quotas', 'Check and consume quotas on the request path; define limits per customer.'],
  ['usage', 'Aggregated usage: series, daily, top, live, CSV export.'],
  ['windows', 'Closed aggregation windows as stored in Postgres.'],
  ['live', 'Server-Sent Events of usage as it happens.'],
  ['customers', "A tenant's customers."],
  ['api-keys', "A tenant's API keys and their rate limits."],
  ['auth', 'Short-lived tokens and stream tickets from an API key.'],
  ['tenants', 'Operator routes (X-Admin-Token).'],
  ['health', 'Probes and Prometheus metrics; no credential.'],
];

/**
 * The OpenAPI document of the app's routes, as served at /docs-json and committed as
 * openapi/openapi.json (scripts/check-openapi.sh keeps the two equal).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Tally')
    .setDescription(
      'Real-time API metering and aggregation. Errors are RFC 9457 problem+json; every ' +
        'response carries `X-Request-Id`. docs/api.md: clients, CORS, tracing.',
    )
    .setVersion('1')
    .addServer('/', 'This server')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'POST /v1/auth/token' },
      'bearer',
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }, 'adminToken')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'query',
        name: 'ticket',
        description: 'Single use, from POST /v1/auth/stream-ticket; GET /v1/stream only',
      },
      'streamTicket',
    );
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build());
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...componentSchemas() },
    headers: RESPONSE_HEADERS,
  };
  for (const operation of operations(document)) addCommonHeaders(operation);
  return document;
}

function operations(document: OpenAPIObject): OperationObject[] {
  return Object.values(document.paths).flatMap((path) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((m) => path[m] ?? []),
  );
}

/**
 * X-Request-Id on every response; on a key route's successes the RateLimit fields of the
 * key's budget (its 429 has them from ProblemResponses). A route without credentials
 * says so (`security: []`) rather than leaving it unsaid.
 */
function addCommonHeaders(operation: OperationObject): void {
  const keyRoute = (operation.security ?? []).some((s) => 'apiKey' in s);
  operation.security ??= [];
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!response || '$ref' in response) continue;
    const rateLimited = keyRoute && status.startsWith('2');
    response.headers = {
      ...response.headers,
      ...headerRefs(rateLimited ? ['X-Request-Id', ...RATE_LIMIT_HEADERS] : ['X-Request-Id']),
    };
  }
}

/**
 * The document with its request examples' event times set to `now`: Swagger UI's Try-it
 * sends an example as it is, and an event older than the retention is refused. Served
 * per request (/docs, /docs-json); the committed document keeps its fixed times.
 */
export function withExampleTimes(document: OpenAPIObject, now: Date): OpenAPIObject {
  const copy = structuredClone(document);
  const time = now.toISOString();
  for (const operation of operations(copy)) {
    const body = operation.requestBody;
    if (!body || '$ref' in body) continue;
    for (const media of Object.values(body.content)) {
      for (const example of Object.values(media.examples ?? {})) {
        if (!('value' in example)) continue;
        for (const item of [example.value as unknown].flat()) {
          if (item && typeof item === 'object' && 'timestamp' in item) item.timestamp = time;
        }
      }
    }
  }
  return copy;
}
