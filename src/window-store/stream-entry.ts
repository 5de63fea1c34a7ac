import { IngestArgumentError } from './ingest-failure';
import type { MeteringEvent } from './metering-event';

/**
 * The persistence stream's entries, both ways. The ingest script writes one entry per
 * shard batch, `XADD <stream> * e <JSON array of the batch's new events>` (ingest.lua.ts
 * joins the events this file encodes); the persistence writer reads them back here.
 */

/** What one event becomes in the persistence stream (short keys: it is written per event). */
export interface StreamedEvent {
  i: string;
  t: string;
  c: string;
  ts: number;
  e: string;
  m: Record<string, unknown>;
  /** Received at (ms), the arrival time that decides whether an event was late. */
  r: number;
}

/** A stream entry as XREADGROUP returns it: its id and its field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** One event as the ingest script puts it into the stream; throws an IngestArgumentError. */
export function encodeStreamedEvent(e: MeteringEvent, receivedAtMs: number): string {
  const streamed: StreamedEvent = {
    i: e.eventId,
    t: e.tenantId,
    c: e.customerId,
    ts: e.timestampMs,
    e: e.endpoint,
    m: e.metadata,
    r: e.receivedAtMs ?? receivedAtMs,
  };
  try {
    return JSON.stringify(streamed);
  } catch (error) {
    throw new IngestArgumentError(`event ${e.eventId}: ${(error as Error).message}`);
  }
}

/** The entry's JSON array of events, as text. */
function eventsOf(fields: string[]): string {
  return fields[fields.indexOf('e') + 1];
}

/** The entries' JSON arrays of events as one array, joined as text (never parsed). */
export function batchJson(entries: StreamEntry[]): string {
  return `[${entries.map(([, fields]) => eventsOf(fields).slice(1, -1)).join(',')}]`;
}

/**
 * The entries whose events parse as JSON; `skipped` hears of each other one. Only this
 * service writes the stream, so an entry that does not parse is a bug, not input.
 */
export function readableEntries(
  entries: StreamEntry[],
  skipped: (id: string) => void,
): StreamEntry[] {
  return entries.filter(([id, fields]) => {
    try {
      JSON.parse(eventsOf(fields));
      return true;
    } catch {
      skipped(id);
      return false;
    }
  });
}
