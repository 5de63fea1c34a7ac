import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS_ORIGINS: browsers on these origins may call the API with a key or a token (no
 * cookies: credentials stay off). Preflights are answered by @fastify/cors before any
 * route, guard or rate limit. The headers a browser may send are the API's own; the
 * answer's headers a script may read include the request id and the rate-limit fields.
 */
export function allowCrossOrigin(fastify: FastifyInstance, origins: string[] | '*'): void {
  void fastify.register(fastifyCors, {
    origin: origins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'X-API-Key',
      'X-Request-Id',
      'If-None-Match',
      'Last-Event-ID',
    ],
    exposedHeaders: [
      'X-Request-Id',
      'RateLimit',
      'RateLimit-Policy',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'Retry-After',
      'Tally-Quota-Policy',
      'ETag',
    ],
    maxAge: 600,
  });
}
