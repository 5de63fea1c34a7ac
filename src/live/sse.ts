import type { ControlEventType, LiveEvent } from './live-event';

/**
 * Server-Sent Events framing (the `text/event-stream` format of the HTML standard). Data
 * is one line of JSON: JSON.stringify never emits a raw newline.
 */
export function eventFrame(event: LiveEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * A frame for one stream only. `reset` carries the id to continue from; `dropped` asks
 * the browser to wait `retryMs` before it reconnects.
 */
export function controlFrame(
  type: ControlEventType,
  { id, time, data, retryMs }: { id?: string; time: string; data: object; retryMs?: number },
): string {
  const envelope = JSON.stringify({ ...(id ? { id } : {}), type, time, customerId: null, data });
  const retry = retryMs === undefined ? '' : `retry: ${retryMs}\n`;
  return `${retry}${id ? `id: ${id}\n` : ''}event: ${type}\ndata: ${envelope}\n\n`;
}

/**
 * An id with no data: the browser moves its Last-Event-ID without dispatching anything
 * (the standard sets the last event id before it drops an event with empty data).
 */
export function positionFrame(id: string): string {
  return `id: ${id}\n\n`;
}

export const HEARTBEAT_FRAME = ': heartbeat\n\n';

/** How long a browser waits before reconnecting a stream that ended. */
export const RECONNECT_MS = 2000;

/** How long a dropped slow stream's browser should wait: it was behind already. */
export const SLOW_RECONNECT_MS = 10_000;
