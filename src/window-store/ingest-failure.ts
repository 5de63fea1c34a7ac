import { ReplyError } from 'ioredis';

/**
 * Why an ingest script call failed, which decides what happens next:
 * - `unavailable`: Redis could not be asked (connection down, no answer within the
 *   command timeout, or a server state such as LOADING or a read-only replica). The
 *   call says nothing about its events: every request in it answers 503 + Retry-After.
 * - `rejected`: Redis answered, and refused the call itself (the script's argument
 *   checks, or an error inside the script), or Node's own checks refused it before
 *   sending. Something in the call's events is the cause: the batcher retries each
 *   request alone so that only the one that carries it fails.
 */
export type IngestFailure = 'unavailable' | 'rejected';

/** An argument the ingest script must never see, found in Node before sending. */
export class IngestArgumentError extends Error {
  override readonly name = 'IngestArgumentError';
}

/** Reply errors that describe the server's state rather than the call. */
const SERVER_STATE_CODES = new Set([
  'LOADING',
  'BUSY',
  'OOM',
  'READONLY',
  'MASTERDOWN',
  'MISCONF',
  'NOREPLICAS',
  'CLUSTERDOWN',
  'TRYAGAIN',
]);

const ReplyErrorClass = ReplyError as new (message: string) => Error;

export function classifyIngestFailure(error: unknown): IngestFailure {
  if (error instanceof IngestArgumentError) return 'rejected';
  if (error instanceof ReplyErrorClass) {
    const code = error.message.split(' ', 1)[0];
    return SERVER_STATE_CODES.has(code) ? 'unavailable' : 'rejected';
  }
  return 'unavailable';
}
