import type { HeaderObject, ReferenceObject } from '@nestjs/swagger';

const integer = (description: string): HeaderObject => ({ description, schema: { type: 'integer' } });
const text = (description: string, example?: string): HeaderObject => ({
  description,
  schema: { type: 'string' },
  ...(example === undefined ? {} : { example }),
});

/** The response headers the API sends, by name; the document's `components.headers`. */
export const RESPONSE_HEADERS = {
  'X-Request-Id': text(
    "The request's id: the caller's X-Request-Id when it is 1-128 of `A-Za-z0-9._:-`, " +
      'else a new UUID. On every response and every log line of the request.',
    '3f2b8c1e-6a4d-4f0e-9b7a-1c2d3e4f5a6b',
  ),
  RateLimit: text(
    'The current draft (draft-ietf-httpapi-ratelimit-headers-09/10): per limit applied, the ' +
      'units remaining (`r`) and the seconds until it is whole again (`t`).',
    '"requests:3600s";r=998;t=1800',
  ),
  'RateLimit-Policy': text(
    'The current draft: every limit applied, its quota (`q`) and window in seconds (`w`).',
    '"requests:3600s";q=1000;w=3600',
  ),
  'RateLimit-Limit': integer('Draft 06: the binding limit (on a 429, the one that refused).'),
  'RateLimit-Remaining': integer('Draft 06: units left under the binding limit.'),
  'RateLimit-Reset': integer('Draft 06: seconds until the binding limit is whole again.'),
  'Retry-After': integer('Seconds to wait before the same call could pass (429) or be retried (503).'),
} satisfies Record<string, HeaderObject>;

export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

/** The RateLimit fields, both generations, on every answer to a key-authenticated route. */
export const RATE_LIMIT_HEADERS: readonly ResponseHeader[] = [
  'RateLimit',
  'RateLimit-Policy',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

/** References to the named headers, for a response's `headers`. */
export function headerRefs(names: readonly ResponseHeader[]): Record<string, ReferenceObject> {
  return Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));
}
