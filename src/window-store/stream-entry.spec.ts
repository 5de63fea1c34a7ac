import { IngestArgumentError } from './ingest-failure';
import type { MeteringEvent } from './metering-event';
import { batchJson, encodeStreamedEvent, readableEntries, type StreamEntry } from './stream-entry';

const event = (eventId: string, extra: Partial<MeteringEvent> = {}): MeteringEvent => ({
  eventId,
  timestampMs: 1_700_000_000_000,
  tenantId: 't-1',
  customerId: 'c:1',
  endpoint: '/x',
  tokens: 3,
  inputTokens: 1,
  outputTokens: 2,
  metadata: { tokens: 3 },
  ...extra,
});

/** An entry as the ingest script writes it: the batch's encoded events joined as an array. */
const entry = (id: string, events: string[]): StreamEntry => [id, ['e', `[${events.join(',')}]`]];

describe('stream entries', () => {
  it('encodes an event in the short keys the writer reads, received time included', () => {
    expect(JSON.parse(encodeStreamedEvent(event('e-1'), 42))).toEqual({
      i: 'e-1',
      t: 't-1',
      c: 'c:1',
      ts: 1_700_000_000_000,
      e: '/x',
      m: { tokens: 3 },
      r: 42,
    });
    expect(JSON.parse(encodeStreamedEvent(event('e-2', { receivedAtMs: 7 }), 42))).toMatchObject({
      r: 7,
    });
  });

  it('refuses an event JSON cannot carry', () => {
    const metadata: Record<string, unknown> = {};
    metadata.self = metadata;
    expect(() => encodeStreamedEvent(event('e-1', { metadata }), 0)).toThrow(IngestArgumentError);
  });

  it('joins the entries of a batch into one JSON array of every event, in order', () => {
    const a = encodeStreamedEvent(event('a'), 1);
    const b = encodeStreamedEvent(event('b'), 1);
    const c = encodeStreamedEvent(event('c'), 1);
    const joined = JSON.parse(batchJson([entry('1-0', [a, b]), entry('2-0', [c])])) as {
      i: string;
    }[];
    expect(joined.map((e) => e.i)).toEqual(['a', 'b', 'c']);
  });

  it('keeps the readable entries and names the others', () => {
    const skipped: string[] = [];
    const good = entry('1-0', [encodeStreamedEvent(event('a'), 1)]);
    const bad: StreamEntry = ['2-0', ['e', '[{"i":']];
    expect(readableEntries([good, bad], (id) => skipped.push(id))).toEqual([good]);
    expect(skipped).toEqual(['2-0']);
  });
});
