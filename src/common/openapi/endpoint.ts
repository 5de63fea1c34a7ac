import { applyDecorators } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { ProblemResponses } from './problem-responses';

/**
 * Who may call a route, as far as its answers go: `key` (an API key or a token for one,
 * rate-limited per key), `admin` (X-Admin-Token) or `public`.
 */
export type Access = 'key' | 'admin' | 'public';

/** The problems every route of an access kind can answer. */
const ACCESS_PROBLEMS: Record<Access, number[]> = {
  key: [401, 403, 429, 503],
  admin: [401, 403, 503],
  public: [],
};

/** The problems of a route that takes a JSON body: not valid, too large, not JSON. */
const BODY_PROBLEMS = [400, 413, 415];

export interface EndpointDoc {
  /** Stable: generated clients name their methods after it. */
  id: string;
  summary: string;
  description: string;
  access: Access;
  /** The route takes a JSON body. */
  body?: boolean;
  /** The route's own problems beyond those of its access and body (400, 404, 409…). */
  problems?: number[];
}

/**
 * An operation's OpenAPI: its id, summary and description, and every problem it can
 * answer, with the headers those carry (429: RateLimit and Retry-After; 503:
 * Retry-After). X-Request-Id on every response, and the RateLimit fields on every
 * success of a key route, are added to the whole document (buildOpenApiDocument).
 */
export function Endpoint(doc: EndpointDoc) {
  const statuses = new Set([
    ...ACCESS_PROBLEMS[doc.access],
    ...(doc.body ? BODY_PROBLEMS : []),
    ...(doc.problems ?? []),
  ]);
  return applyDecorators(
    ApiOperation({ operationId: doc.id, summary: doc.summary, description: doc.description }),
    ProblemResponses(...[...statuses].sort()),
  );
}
