import type { FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';

export type Credential =
  | { kind: 'apiKey'; key: string }
  | { kind: 'token'; token: string }
  | { kind: 'ticket'; ticket: string };

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The tenant credential a request carries: `X-API-Key`, or `Authorization: Bearer`; and,
 * only where the route takes one (`acceptTicket`), a stream ticket in `?ticket=`.
 */
export function readCredential(request: FastifyRequest, acceptTicket = false): Credential {
  const key = header(request, 'x-api-key');
  const authorization = header(request, 'authorization');
  if (key !== undefined && authorization !== undefined) {
    throw new DomainError(
      ErrorCode.BadRequest,
      'Send X-API-Key or Authorization, not both: which one should count is not guessed.',
    );
  }
  const ticket = acceptTicket ? queryTicket(request) : undefined;
  if (ticket !== undefined) {
    if (key !== undefined || authorization !== undefined) {
      throw new DomainError(
        ErrorCode.BadRequest,
        'Send a header credential or ?ticket=, not both: which one should count is not guessed.',
      );
    }
    return { kind: 'ticket', ticket };
  }
  if (key !== undefined) return { kind: 'apiKey', key };
  if (authorization === undefined) {
    throw new DomainError(
      ErrorCode.Unauthenticated,
      acceptTicket
        ? 'An X-API-Key header, an Authorization: Bearer token or a ?ticket= is required.'
        : 'An X-API-Key header or an Authorization: Bearer token is required.',
    );
  }
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) {
    throw new DomainError(ErrorCode.Unauthenticated, 'Authorization must be `Bearer <token>`.');
  }
  return { kind: 'token', token };
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function queryTicket(request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.ticket;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
