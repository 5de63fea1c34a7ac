import type { Redis } from 'ioredis';

/** Socket errors that say the server could not be reached or the connection broke. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** ioredis's own words for a command failed because there is no connection to send it on. */
const CONNECTION_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
];

/**
 * Whether a command failed because Redis could not be reached (refused, closed, reset,
 * ioredis's max retries while reconnecting): Redis is down, not slow. A command timeout
 * is not one of these: a stalled Redis is not known to be down, and gets a 503.
 */
export function isConnectionLost(error: unknown): boolean {
  // Read by shape: socket errors from Node's own code fail `instanceof Error` under Jest's
  // module sandbox (another realm), as infra/database/pg-errors.ts found for Postgres.
  if (typeof error !== 'object' || error === null) return false;
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return typeof message === 'string' && CONNECTION_MESSAGES.includes(message);
}

/** The client has no working connection at this moment (connecting, reconnecting, closed). */
export function isDisconnected(redis: Pick<Redis, 'status'>): boolean {
  return redis.status !== 'ready';
}
