import { QueryFailedError } from 'typeorm';

/** Postgres `23505`: the row would repeat a unique key. Repositories turn it into a Conflict. */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: unknown } | undefined)?.code === '23505'
  );
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);
const CONNECTION_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Connection refused|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Postgres could not be reached or went away (refused, reset, terminated, shutting down,
 * SQLSTATE class 08 or 57P0x), as opposed to a query it refused: the first is a 503 to
 * retry, the second a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const driver = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  const { code, message } = (driver ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || /^(08|57P0)/.test(code))) {
    return true;
  }
  return typeof message === 'string' && CONNECTION_MESSAGE.test(message);
}
