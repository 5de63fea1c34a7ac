import type { FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';

export type Credential = { kind: 'apiKey'; key: string } | { kind: 'token'; token: string };

const BEARER = /^Bearer +(\S+) *$/i;

/** The tenant credential a request carries: `X-API-Key`, or `Authorization: Bearer`. */
export function readCredential(request: FastifyRequest): Credential {
  const key = header(request, 'x-api-key');
  const authorization = header(request, 'authorization');
  if (key !== undefined && authorization !== undefined) {
    throw new DomainError(
      ErrorCode.BadRequest,
      'Send X-API-Key or Authorization, not both: which one should count is not guessed.',
    );
  }
  if (key !== undefined) return { kind: 'apiKey', key };
  if (authorization === undefined) {
    throw new DomainError(
      ErrorCode.Unauthenticated,
      'An X-API-Key header or an Authorization: Bearer token is required.',
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
