import type { MeteringEvent } from '../window-store';

/** One request's validated events as the spool keeps them, with the time they arrived. */
export interface SpooledRequest {
  receivedAtMs: number;
  events: MeteringEvent[];
}

const VERSION = 1;

export function encodeSpooled(request: SpooledRequest): Buffer {
  return Buffer.from(JSON.stringify({ v: VERSION, r: request.receivedAtMs, e: request.events }));
}

/**
 * The request back, each event carrying its arrival time, so a replay streams the
 * received time the producer's request had rather than the replay's.
 */
export function decodeSpooled(payload: Buffer): SpooledRequest {
  const record = JSON.parse(payload.toString('utf8')) as {
    v: number;
    r: number;
    e: MeteringEvent[];
  };
  if (record.v !== VERSION) throw new Error(`spool record version ${record.v} is not ${VERSION}`);
  return {
    receivedAtMs: record.r,
    events: record.e.map((event) => ({ ...event, receivedAtMs: record.r })),
  };
}
