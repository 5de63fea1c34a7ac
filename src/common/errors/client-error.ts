import type { Socket } from 'node:net';
import { ErrorCode } from './domain-error';
import { Problem, PROBLEM_CONTENT_TYPE, problemType, statusOf } from './problem';

/** Node's HTTP server keeps the request it is answering on the socket. */
type ServerSocket = Socket & { _httpMessage?: { headersSent: boolean } };

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP server meets before a request is
 * whole, so no route, filter or request id exists yet. A request that did not arrive
 * within HTTP_REQUEST_TIMEOUT_MS (a stalled body) is a 408, oversized headers a 431,
 * anything unparsable a 400; each as problem+json, after which the connection closes,
 * since what the client sends next on it cannot be trusted to start a request.
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
  const { status, title } = statusOf(code);
  const problem: Problem = {
    type: problemType(code),
    title,
    status,
    detail: DETAILS[code] ?? 'The request could not be read as HTTP.',
    code,
  };
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

const DETAILS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.RequestTimeout]:
    'The request did not arrive whole within the request timeout of this server.',
  [ErrorCode.HeadersTooLarge]: 'The request headers exceed the size the server accepts.',
};
