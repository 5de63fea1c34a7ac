import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { SecurityHeaders } from '../http/security-headers';
import { ErrorCode } from './domain-error';
import { codeOfStatus, PROBLEM_CONTENT_TYPE, problemOf } from './problem';

/**
 * Errors met before a request reaches a route, so neither Nest's exception filter nor
 * Fastify's hooks see them; both answers below are problem+json all the same.
 */

/** Node's HTTP server keeps the request it is answering on the socket. */
type ServerSocket = Socket & { _httpMessage?: { headersSent: boolean } };

const CLIENT_ERROR_DETAILS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.RequestTimeout]:
    'The request did not arrive whole within the request timeout of this server.',
  [ErrorCode.HeadersTooLarge]: 'The request headers exceed the size the server accepts.',
  [ErrorCode.BadRequest]: 'The request could not be read as HTTP.',
};

/**
 * Fastify's `clientErrorHandler`: Node's HTTP server could not take a request whole. One
 * that did not arrive within HTTP_REQUEST_TIMEOUT_MS (a stalled body) is a 408, oversized
 * headers a 431, anything unparsable a 400; then the connection closes, since what the
 * client sends next on it cannot be trusted to start a request.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: ServerSocket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // An answer already under way cannot be replaced; the connection still goes.
  if (!socket.writable || socket._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const code =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ErrorCode.RequestTimeout
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ErrorCode.HeadersTooLarge
        : ErrorCode.BadRequest;
  const problem = problemOf(code, CLIENT_ERROR_DETAILS[code]!);
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * Fastify's `frameworkErrors`: a URL the router cannot decode (`/v1/tenants/a%`) is a
 * 400, a path parameter over its length limit a 414. Fastify would answer them as its
 * own JSON, from an error handler set before Nest's.
 */
export function answerFrameworkError(securityHeaders: SecurityHeaders) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void reply.headers(securityHeaders);
    const problem = problemOf(
      codeOfStatus(error.statusCode ?? 400) ?? ErrorCode.BadRequest,
      error.message,
    );
    void reply
      .status(problem.status)
      .header('X-Request-Id', request.id)
      .header('Content-Type', PROBLEM_CONTENT_TYPE)
      .send({ ...problem, instance: request.url, requestId: String(request.id) });
  };
}
