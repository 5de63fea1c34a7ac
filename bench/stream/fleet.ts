/**
 * The stream benchmark's clients, in a process of their own so that their parsing never
 * shares a thread with the load generator. Driven over IPC by stream.bench.ts:
 * `open` N streams, `record` from now, `report` what arrived, `close` them all.
 *
 * Every stream counts its events; one in OBSERVE_EVERY (spread over the order the
 * service writes them in) also parses the probe customers' updates and records when each
 * arrived. Parsing every frame of 1,000 streams would cost this shared machine a core
 * that the service then does not get.
 */
import { Agent, type ClientRequest, request } from 'node:http';
import { PROBE_PREFIX } from './probes';

export type FleetCommand =
  | { cmd: 'open'; base: string; key: string; count: number }
  | { cmd: 'record' }
  | { cmd: 'report' }
  | { cmd: 'close' };

export interface FleetReport {
  seconds: number;
  /** Events received (usage.updated, window.closed, …), all streams. */
  events: number;
  /** Streams that ended while recording (dropped or failed). */
  ended: number;
  /**
   * For each probe customer's update (`customer|windowStart|calls`), when each stream got it
   * (epoch ms), in arrival order.
   */
  receipts: [string, number[]][];
  /** Streams that recorded receipts. */
  observers: number;
}

export type FleetReply =
  | { reply: 'opened'; opened: number; failed: number }
  | { reply: 'recording'; since: number }
  | { reply: 'report'; report: FleetReport }
  | { reply: 'closed' };

/** Only the probe customers' frames are parsed. */
const PROBE_MARK = `"customerId":"${PROBE_PREFIX}`;

export const OBSERVE_EVERY = 20;
const EVENT_MARK = '\nevent: ';

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
let opened = 0;
let observers = 0;
const streams = new Set<ClientRequest>();
let recordingSince = 0;
let events = 0;
let ended = 0;
let receipts = new Map<string, number[]>();

function open(base: string, key: string): Promise<boolean> {
  const observer = opened++ % OBSERVE_EVERY === 0;
  return new Promise((resolve) => {
    const req = request(`${base}/v1/stream`, {
      agent,
      headers: { accept: 'text/event-stream', 'x-api-key': key },
    });
    req.on('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolve(false);
        return;
      }
      streams.add(req);
      if (observer) observers++;
      response.setEncoding('utf8');
      let buffer = '';
      /** The updates this stream has had: a repeated one (same totals) is not a new receipt. */
      const seen = new Set<string>();
      response.on('data', (chunk: string) => {
        if (!observer) {
          // Counts the event lines; keeps the end of the chunk, where one may be cut in two.
          buffer = count(buffer + chunk);
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          frame(buffer.slice(0, end), seen);
          buffer = buffer.slice(end + 2);
        }
      });
      response.on('close', () => {
        if (streams.delete(req) && recordingSince > 0) ended++;
      });
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Counts the event lines of `text`; returns what may be the start of a split one. */
function count(text: string): string {
  let from = 0;
  let at: number;
  while ((at = text.indexOf(EVENT_MARK, from)) !== -1) {
    if (recordingSince > 0) events++;
    from = at + EVENT_MARK.length;
  }
  return text.slice(Math.max(from, text.length - EVENT_MARK.length + 1));
}

function frame(text: string, seen: Set<string>): void {
  if (recordingSince === 0 || !text.includes(EVENT_MARK)) return;
  events++;
  if (!text.includes(PROBE_MARK)) return;
  const at = Date.now();
  const data = JSON.parse(text.slice(text.indexOf('\ndata: ') + 7)) as {
    type: string;
    customerId: string;
    data: { windows?: { windowStart: string; calls: number }[] };
  };
  if (data.type !== 'usage.updated') return;
  for (const w of data.data.windows ?? []) {
    const key = `${data.customerId}|${w.windowStart}|${w.calls}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const times = receipts.get(key);
    if (times) times.push(at);
    else receipts.set(key, [at]);
  }
}

async function handle(message: FleetCommand): Promise<FleetReply> {
  switch (message.cmd) {
    case 'open': {
      let succeeded = 0;
      let failed = 0;
      // A few dozen at a time: the service takes each with an auth check and a Redis script.
      for (let i = 0; i < message.count; i += 50) {
        const batch = Math.min(50, message.count - i);
        const results = await Promise.all(
          Array.from({ length: batch }, () => open(message.base, message.key)),
        );
        for (const ok of results) {
          if (ok) succeeded++;
          else failed++;
        }
      }
      return { reply: 'opened', opened: succeeded, failed };
    }
    case 'record':
      recordingSince = Date.now();
      events = 0;
      ended = 0;
      receipts = new Map();
      return { reply: 'recording', since: recordingSince };
    case 'report': {
      const seconds = (Date.now() - recordingSince) / 1000;
      recordingSince = 0;
      return {
        reply: 'report',
        report: { seconds, events, ended, receipts: [...receipts], observers },
      };
    }
    case 'close':
      for (const req of streams) req.destroy();
      streams.clear();
      opened = 0;
      observers = 0;
      return { reply: 'closed' };
  }
}

process.on('message', (message: FleetCommand) => {
  void handle(message).then((reply) => process.send?.(reply));
});
