import fc, { type Arbitrary } from 'fast-check';

/** The parts of an OpenAPI 3 document the fuzzer reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

export interface Operation {
  parameters?: { in: 'path' | 'query' | 'header'; name: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, string[]>[];
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  nullable?: boolean;
  enum?: unknown[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  minProperties?: number;
  items?: Schema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
}

/** One request as sent: the path already encoded (deliberately broken, at times). */
export interface FuzzRequest {
  mutation: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Valid values the fuzzer starts from, so that each request is wrong in one way only. */
export interface FuzzContext {
  tenantId: string;
  /** Path parameter values that name something that exists, by parameter name and path. */
  pathValue(path: string, name: string): string;
  /** The credential headers each operation needs to get past authentication. */
  credentials(operation: Operation): Record<string, string>;
  /** Above the body limit of the instance under test. */
  bodyLimitBytes: number;
}

export interface FuzzOperation {
  method: string;
  path: string;
  /** The malformed requests for this operation. */
  requests: Arbitrary<FuzzRequest>;
}

/** Every operation of the document, each with the malformed requests that fit it. */
export function fuzzOperations(document: OpenApiDocument, context: FuzzContext): FuzzOperation[] {
  const doc = resolveRefs(document, document) as OpenApiDocument;
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      requests: malformedRequests(method.toUpperCase(), path, operation, context),
    })),
  );
}

/** The document with every local `$ref` (named schemas, headers) replaced by what it names. */
function resolveRefs(value: unknown, root: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, root));
  if (!value || typeof value !== 'object') return value;
  if ('$ref' in value && typeof value.$ref === 'string') {
    const target = value.$ref
      .slice(2)
      .split('/')
      .reduce((node: unknown, key) => (node as Record<string, unknown>)[key], root);
    return resolveRefs(target, root);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, root)]));
}

function malformedRequests(
  method: string,
  template: string,
  operation: Operation,
  context: FuzzContext,
): Arbitrary<FuzzRequest> {
  const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
  const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query');
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  const validPath = fillPath(template, (name) => percentEncode(context.pathValue(template, name)));
  const validQuery = Object.fromEntries(
    queryParams.filter((p) => p.required).map((p) => [p.name, context.pathValue(template, p.name)]),
  );
  const credentials = context.credentials(operation);
  const request = (mutation: string, parts: Partial<FuzzRequest> & { query?: string }) => ({
    mutation,
    method,
    path: (parts.path ?? validPath) + (parts.query ?? queryString(validQuery)),
    headers: { ...credentials, ...parts.headers },
    body: parts.body,
  });
  const validBody = bodySchema && JSON.stringify(validInstance(bodySchema, context));
  const kinds: Arbitrary<FuzzRequest>[] = [];
  if (method !== 'GET') {
    // What the parser refuses, whatever the route (a GET's body is not read).
    kinds.push(
      unparsableBodies(context).map(({ mutation, headers, body }) =>
        request(mutation, { headers, body }),
      ),
    );
  }
  if (pathParams.length > 0) {
    kinds.push(
      fc
        .record({
          param: fc.constantFrom(...pathParams.map((p) => p.name)),
          value: hostilePathValue(),
        })
        .filter(({ param, value }) => value.decoded !== context.pathValue(template, param))
        .map(({ param, value }) =>
          request(`path ${param} ${value.label}`, {
            path: fillPath(template, (name) =>
              name === param ? value.encoded : percentEncode(context.pathValue(template, name)),
            ),
            headers: validBody ? { 'content-type': 'application/json' } : {},
            body: validBody,
          }),
        ),
    );
  }
  // A write ignores a query it does not declare, so only a read gets undeclared ones.
  if (queryParams.length > 0 || method === 'GET') {
    kinds.push(
      fc
        .tuple(
          fc.constantFrom(...queryParams.map((p) => p.name), 'unknownParam'),
          hostileQueryValue(),
        )
        .map(([name, value]) =>
          request(`query ${name} ${value.label}`, {
            query: queryString(validQuery, `${percentEncode(name)}=${value.encoded}`),
          }),
        ),
    );
  }
  if (bodySchema) {
    kinds.push(
      invalidBodies(bodySchema, context).map(({ mutation, body }) =>
        request(mutation, { headers: { 'content-type': 'application/json' }, body }),
      ),
    );
  }
  return fc.oneof(...kinds);
}

function fillPath(template: string, value: (name: string) => string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => value(name));
}

function queryString(valid: Record<string, string>, extra?: string): string {
  const parts = Object.entries(valid).map(([k, v]) => `${k}=${percentEncode(v)}`);
  if (extra) parts.push(extra);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** No surrogate among them: one next to the lone surrogate below could make it a pair. */
const CONTROLS = ['\u0000', '\u0001', '\u001f', '\u007f', '\n'];

/** A string Postgres cannot store: a NUL or an unpaired surrogate, among other controls. */
function unstorableString(): Arbitrary<string> {
  return fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.constantFrom('\u0000', '\ud800', '\udc00'),
      fc.array(fc.constantFrom(...CONTROLS), { maxLength: 3 }),
      fc.string({ maxLength: 8 }),
    )
    .map(([a, bad, controls, b]) => `${a}${bad}${controls.join('')}${b}`);
}

/** Dates a caller could send that no rule accepts (docs/reliability/poison-and-stall.md). */
const BAD_DATES = [
  '2026-11-30T23:59:60Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+00:01',
  '9999-12-31T23:59:59-00:01',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:01Z',
  '2026-01-01T00:60:00Z',
  '2026-01-01',
  '2026-01-01T00:00:00',
  '2026-01-01T00:00:00+25:00',
  '+002026-01-01T00:00:00Z',
  '99999-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  'yesterday',
  '',
];
/** Well-formed but outside what the routes accept (too old, too far ahead). */
const FAR_DATES = [
  '0001-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2999-01-01T00:00:00Z',
];

function cursorOf(values: unknown): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const BAD_CURSORS = [
  cursorOf([1e308, 'c']),
  cursorOf([8.64e15, 'c']),
  cursorOf([-8.64e15, 'c']),
  cursorOf([1.5, 'c']),
  cursorOf([1700000000000, 'c\u0000']),
  cursorOf(['\u0000']),
  cursorOf(['\ud800']),
  cursorOf(['not-a-uuid']),
  cursorOf([]),
  cursorOf({ a: 1 }),
  cursorOf([[[[[1]]]]]),
  '!!!',
  'x'.repeat(600),
];

interface Hostile {
  label: string;
  encoded: string;
  decoded?: string;
}

function encoded(label: string, value: string): Hostile {
  return { label, encoded: percentEncode(value), decoded: value };
}

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is written as the
 * three bytes it would have in UTF-8 if it had a form there: invalid UTF-8 on the wire.
 */
function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    out +=
      code >= 0xd800 && code <= 0xdfff
        ? [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
            .map((byte) => `%${byte.toString(16).toUpperCase()}`)
            .join('')
        : encodeURIComponent(char);
  }
  return out;
}

function hostilePathValue(): Arbitrary<Hostile> {
  return fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map((s) => encoded('random', s)),
    unstorableString().map((s) => encoded('unstorable', s)),
    fc.constantFrom<Hostile>(
      { label: 'raw NUL', encoded: '%00' },
      { label: 'bad escape', encoded: '%zz' },
      { label: 'truncated escape', encoded: 'a%' },
      { label: 'invalid UTF-8', encoded: '%ED%A0%80' },
      { label: 'overlong UTF-8', encoded: '%C0%AF' },
      { label: 'dot dot', encoded: '..' },
      { label: 'encoded slash', encoded: 'a%2Fb' },
    ),
    fc.integer({ min: 101, max: 5000 }).map((n) => encoded(`${n} chars`, 'x'.repeat(n))),
  );
}

function hostileQueryValue(): Arbitrary<Hostile> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => encoded('random', s)),
    unstorableString().map((s) => encoded('unstorable', s)),
    fc
      .constantFrom(1e308, -1e308, -1, 0, 1.5, 2 ** 53 + 2, 1e21, -0.0001)
      .map((n) => encoded(`number ${n}`, String(n))),
    fc.constantFrom('NaN', 'Infinity', '0x10', '1e3', ' 5', 'true', '[]').map((s) => encoded(s, s)),
    fc.constantFrom(...BAD_DATES, ...FAR_DATES).map((s) => encoded(`date ${s}`, s)),
    fc.constantFrom(...BAD_CURSORS).map((s) => encoded('cursor', s)),
    fc.integer({ min: 600, max: 5000 }).map((n) => encoded(`${n} chars`, 'x'.repeat(n))),
    fc.constantFrom<Hostile>(
      { label: 'raw NUL', encoded: '%00' },
      { label: 'bad escape', encoded: '%zz' },
      { label: 'invalid UTF-8', encoded: '%ED%A0%80' },
      { label: 'repeated', encoded: '1&limit=2&cursor=a&customerId=b&from=c' },
    ),
  );
}

/** Bodies refused before any route sees them: not JSON, too deep, too big, not JSON at all. */
function unparsableBodies(
  context: FuzzContext,
): Arbitrary<{ mutation: string; headers: Record<string, string>; body: string }> {
  const json = { 'content-type': 'application/json' };
  return fc.oneof(
    fc
      .constantFrom(
        '{',
        '{"a":',
        '[1,]',
        "{'a':1}",
        'NaN',
        '{"a":1}x',
        '\u0000',
        '{"__proto__":{"x":1}}',
      )
      .map((body) => ({ mutation: 'invalid JSON', headers: json, body })),
    fc
      .string({ unit: 'binary', minLength: 1, maxLength: 50 })
      .filter(isNotJson)
      .map((body) => ({
        mutation: 'random text as JSON',
        headers: json,
        body,
      })),
    fc.tuple(fc.integer({ min: 33, max: 4000 }), fc.boolean()).map(([levels, arrays]) => ({
      mutation: `nested ${levels} deep`,
      headers: json,
      body: arrays
        ? '['.repeat(levels) + ']'.repeat(levels)
        : '{"a":'.repeat(levels) + '1' + '}'.repeat(levels),
    })),
    fc
      .constantFrom(
        'application/xml',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      )
      .map((type) => ({
        mutation: `content type ${type}`,
        headers: { 'content-type': type },
        body: '{"a":1}',
      })),
    fc.constant({
      mutation: 'over the body limit',
      headers: json,
      body: JSON.stringify({ name: 'x'.repeat(context.bodyLimitBytes + 1) }),
    }),
    fc.constant({ mutation: 'empty JSON body', headers: json, body: '' }),
  );
}

function isNotJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

/**
 * A value the schema accepts, with every optional property filled in, so that each
 * mutation below has something to break. `tenantId` is the caller's own.
 */
export function validInstance(schema: Schema, context: FuzzContext, name = ''): unknown {
  if (schema.oneOf) return validInstance(schema.oneOf[0], context, name);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, value]) => [
          key,
          validInstance(value, context, key),
        ]),
      );
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () =>
        validInstance(schema.items ?? {}, context, name),
      );
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return true;
    case 'string':
      return validString(schema, context, name);
    case undefined:
      return null;
  }
}

function validString(schema: Schema, context: FuzzContext, name: string): string {
  if (schema.format === 'date-time') return new Date().toISOString();
  if (schema.format === 'uuid') return name === 'tenantId' ? context.tenantId : crypto.randomUUID();
  if (schema.format === 'email') return 'fuzz@example.com';
  const candidate = ['fuzz-1', '1h'].find(
    (s) =>
      (!schema.pattern || new RegExp(schema.pattern, 'u').test(s)) &&
      s.length >= (schema.minLength ?? 0) &&
      s.length <= (schema.maxLength ?? Infinity),
  );
  if (candidate === undefined) throw new Error(`no valid example for ${JSON.stringify(schema)}`);
  return candidate;
}

/** A JSON Pointer-like route into the body (property names and array indexes). */
type Route = (string | number)[];

interface Target {
  route: Route;
  schema: Schema;
}

/** Every value in the valid instance, with its schema: the places a mutation can hit. */
function targets(schema: Schema, route: Route = []): Target[] {
  // A oneOf is mutated through its first alternative; its other types stay right types.
  const resolved = schema.oneOf ? { ...schema.oneOf[0], oneOf: schema.oneOf } : schema;
  const here: Target = { route, schema: resolved };
  if (resolved.type === 'object') {
    return [
      here,
      ...Object.entries(resolved.properties ?? {}).flatMap(([key, value]) =>
        targets(value, [...route, key]),
      ),
    ];
  }
  if (resolved.type === 'array' && resolved.items) {
    return [here, ...targets(resolved.items, [...route, 0])];
  }
  return [here];
}

/** Bodies valid but for one thing the schema or the storage refuses. */
function invalidBodies(
  schema: Schema,
  context: FuzzContext,
): Arbitrary<{ mutation: string; body: string }> {
  return fc.constantFrom(...targets(schema)).chain((target) =>
    fc.oneof(...mutationsOf(target)).map(({ mutation, apply }) => ({
      mutation: `${mutation} at /${target.route.join('/')}`,
      body: JSON.stringify(apply(validInstance(schema, context))),
    })),
  );
}

interface Mutation {
  mutation: string;
  apply: (body: unknown) => unknown;
}

function mutationsOf({ route, schema }: Target): Arbitrary<Mutation>[] {
  const set = (value: unknown) => (body: unknown) => setAt(body, route, value);
  const result: Arbitrary<Mutation>[] = [
    wrongTypeValue(schema).map((value) => ({
      mutation: `wrong type ${JSON.stringify(value)}`,
      apply: set(value),
    })),
  ];
  if (schema.type === 'object' && schema.required && schema.required.length > 0) {
    result.push(
      fc.constantFrom(...schema.required).map((missing) => ({
        mutation: `missing ${missing}`,
        apply: (body: unknown) => deleteAt(body, [...route, missing]),
      })),
    );
  }
  if (schema.type === 'object' && schema.additionalProperties === false) {
    const names = Object.keys(schema.properties ?? {});
    result.push(
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((name) => !names.includes(name) && name !== '__proto__')
        .map((name) => ({
          mutation: `unknown field ${JSON.stringify(name)}`,
          apply: (body: unknown) => setAt(body, [...route, name], 1),
        })),
    );
  }
  if (schema.type === 'string' || schema.enum) {
    result.push(
      unstorableString().map((value) => ({
        mutation: `unstorable ${JSON.stringify(value)}`,
        apply: set(value),
      })),
    );
  }
  if (schema.type === 'string' && schema.maxLength !== undefined) {
    const max = schema.maxLength;
    result.push(
      fc.integer({ min: max + 1, max: max * 4 + 1 }).map((length) => ({
        mutation: `${length} chars`,
        apply: set('x'.repeat(length)),
      })),
    );
  }
  if (schema.format === 'date-time') {
    result.push(
      fc.constantFrom(...BAD_DATES, ...FAR_DATES).map((value) => ({
        mutation: `date ${value}`,
        apply: set(value),
      })),
    );
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const outside = [1e308, -1e308, -1, 0.5, 2 ** 53 + 2, 1e21, -0.0001].filter(
      (n) =>
        (schema.type === 'integer' && !Number.isInteger(n)) ||
        n < (schema.minimum ?? -Infinity) ||
        n > (schema.maximum ?? Infinity),
    );
    if (outside.length > 0) {
      result.push(
        fc
          .constantFrom(...outside)
          .map((value) => ({ mutation: `number ${value}`, apply: set(value) })),
      );
    }
  }
  return result;
}

function wrongTypeValue(schema: Schema): Arbitrary<unknown> {
  const candidates: [string, unknown][] = [
    ['string', 'x'],
    ['integer', 7],
    ['number', 1.5],
    ['boolean', false],
    ['null', null],
    ['array', [1]],
    ['object', { a: 1 }],
  ];
  const allowed = new Set<string>();
  if (schema.type) allowed.add(schema.type);
  if (schema.type === 'number') allowed.add('integer');
  if (schema.nullable) allowed.add('null');
  if (schema.oneOf)
    for (const alternative of schema.oneOf) if (alternative.type) allowed.add(alternative.type);
  const wrong = candidates.filter(
    ([type, value]) =>
      !allowed.has(type) && !(schema.enum && schema.enum.some((member) => member === value)),
  );
  return fc.constantFrom(...wrong.map(([, value]) => value));
}

function getAt(body: unknown, route: Route): unknown {
  return route.reduce<unknown>(
    (node, key) => (node as Record<string, unknown> | undefined)?.[key],
    body,
  );
}

function setAt(body: unknown, route: Route, value: unknown): unknown {
  if (route.length === 0) return value;
  const parent = getAt(body, route.slice(0, -1)) as Record<string | number, unknown>;
  parent[route[route.length - 1]] = value;
  return body;
}

function deleteAt(body: unknown, route: Route): unknown {
  const parent = getAt(body, route.slice(0, -1)) as Record<string | number, unknown>;
  delete parent[route[route.length - 1]];
  return body;
}
