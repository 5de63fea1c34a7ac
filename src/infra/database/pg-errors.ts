import { QueryFailedError } from 'typeorm';
import { DomainError, ErrorCode } from '../../common/errors/domain-error';

/** Postgres `23505`: the row would repeat a unique key. Repositories turn it into a Conflict. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/** Postgres `22P02`: a value it could not read as its type (a batch that is not JSON). */
export function isInvalidText(error: unknown): boolean {
  return sqlState(error) === '22P02';
}

function sqlState(error: unknown): unknown {
  return error instanceof QueryFailedError
    ? (error.driverError as { code?: unknown } | undefined)?.code
    : undefined;
}

/**
 * What a client should wait before retrying when Postgres cannot be reached: a restart or
 * a failover takes seconds to tens of seconds, so asking again within one second only adds
 * load, and a longer wait would hold producers up after a short blip.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Postgres could not be reached or is going away: 503 with Retry-After, never a 500. */
export class DatabaseUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super(ErrorCode.Unavailable, 'The database is unreachable; retry shortly.', {
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    });
    this.name = 'DatabaseUnavailableError';
    this.cause = cause;
    // For logs only: the problem sent to clients carries `detail`, never this message.
    this.message = `Postgres is unavailable: ${errorLike(cause)?.message ?? String(cause)}`;
  }
}

/**
 * Rethrows an unavailability as DatabaseUnavailableError, anything else as it is. A domain
 * error (one already translated by an inner call, a NotFound from the work) stays itself.
 */
export function rethrowUnavailable(error: unknown): never {
  if (error instanceof DomainError || !isPostgresUnavailable(error)) throw error;
  throw new DatabaseUnavailableError(error);
}

/**
 * SQLSTATEs that mean "not now" rather than "not this": connection exceptions (class 08),
 * a server shutting down, crashed, or still starting (57P01–57P03), no free connection
 * slot (53300).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Socket errors on the way to the server (ENOTFOUND/EAI_AGAIN: a host name that is gone, as a stopped container's). */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg and pg-pool say these without a code. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // also "… unexpectedly" and "… due to connection timeout"
  'timeout exceeded when trying to connect', // pg-pool: no connection within connectionTimeoutMillis
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/**
 * True when the error says Postgres cannot be reached or is going away: the pool could not
 * connect in time, the socket failed, or the server refused or ended the session for a
 * reason of its own state. TypeORM wraps driver errors (QueryFailedError.driverError) and
 * pg-pool chains causes, so the whole chain is read. A query Postgres answered with any
 * other error (a constraint, a syntax error, a bug) is not one.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current = errorLike(error);
  while (current && !seen.has(current)) {
    seen.add(current);
    if (isUnavailableCause(current)) return true;
    const { driverError, cause, errors } = current;
    current = errorLike(driverError ?? cause ?? (Array.isArray(errors) ? errors[0] : undefined));
  }
  return false;
}

interface ErrorLike {
  message: string;
  code?: unknown;
  driverError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Read by shape, not `instanceof Error`: errors made by Node's own socket code come from
 * another realm under Jest's module sandbox, and would not pass the check there.
 */
function errorLike(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
    ? (value as ErrorLike)
    : undefined;
}

function isUnavailableCause({ code, message }: ErrorLike): boolean {
  if (typeof code === 'string') {
    if (code.startsWith('08') && code.length === 5) return true;
    if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
  }
  return UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m));
}
