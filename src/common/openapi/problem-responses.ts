import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { namedSchema } from './component-schemas';
import { headerRefs, RATE_LIMIT_HEADERS, type ResponseHeader } from './headers';

export const problemSchema = {
  type: 'object',
  description: 'An RFC 9457 problem: every error the API answers has this form.',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    requestId: { type: 'string' },
    errorId: { type: 'string', description: 'Present on 500s; quote it when reporting.' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

/** What each status means wherever it is answered; a route's own words go in its description. */
const MEANING: Record<number, string> = {
  400: 'The request is not valid (body, query or path; `errors` says where); nothing changed.',
  401: 'No credential, or one that is unknown, expired or revoked.',
  403: 'The credential may not do this: a missing scope, another tenant, or an address not allowed.',
  404: 'No such resource in this tenant.',
  409: 'It exists already.',
  413: 'The body is larger than INGEST_BODY_LIMIT_BYTES.',
  415: 'The body is not `application/json`.',
  429:
    "Over a rate: the API key's budget, or too many unknown keys from this address. Nothing was done; " +
    'retry after `Retry-After`.',
  503: 'A dependency (Redis or Postgres) cannot answer now; nothing was done. Retry after `Retry-After`.',
};

const HEADERS: Record<number, readonly ResponseHeader[]> = {
  429: [...RATE_LIMIT_HEADERS, 'Retry-After'],
  503: ['Retry-After'],
};

/** Documents RFC 9457 error responses for the given statuses, with their headers. */
export function ProblemResponses(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: MEANING[status] ?? 'A problem.',
        headers: headerRefs(HEADERS[status] ?? []),
        content: { 'application/problem+json': { schema: namedSchema('Problem', problemSchema) } },
      }),
    ),
  );
}
