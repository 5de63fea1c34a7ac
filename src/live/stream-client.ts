import type { ServerResponse } from 'node:http';
import type { Principal } from '../common/access/principal';
import { isAfter } from './event-id';
import type { LiveEvent } from './live-event';

/**
 * One open stream: its socket, what it asked for, and how far through the tenant's
 * history it is. `position` is the last event it has passed, delivered or filtered out;
 * `told` is the last id the browser was given, which is what it resumes from.
 */
export class StreamClient {
  position: string;
  told: string;
  /** Replaying history: live events are held until the replay has caught up. */
  replaying = true;
  closed = false;
  private held: LiveEvent[] = [];
  private heldBytes = 0;
  /** The socket's last write went past its high-water mark; 'drain' follows. */
  private full = false;
  /** Chunks of this turn of the event loop, written together by `flush`. */
  private outbox: (string | Buffer)[] = [];

  constructor(
    readonly id: string,
    readonly principal: Principal,
    private readonly customers: ReadonlySet<string> | null,
    private readonly response: ServerResponse,
    private readonly bufferBytes: number,
    start: string,
  ) {
    this.position = start;
    this.told = start;
  }

  get tenantId(): string {
    return this.principal.tenantId;
  }

  /** Whether it receives every event of the tenant (no customerId filter). */
  get wantsAll(): boolean {
    return this.customers === null;
  }

  wants(event: LiveEvent): boolean {
    return (
      event.customerId === null || this.customers === null || this.customers.has(event.customerId)
    );
  }

  /** Bytes handed to the socket and not yet sent. */
  get buffered(): number {
    return this.response.writableLength;
  }

  /**
   * Writes unless more than the buffer bound is still waiting to be sent: then it
   * writes nothing and answers false, and the caller drops the stream. So a stream
   * holds at most the bound plus one chunk.
   */
  write(chunk: string | Buffer): boolean {
    if (this.closed) return true;
    if (this.response.writableLength > this.bufferBytes) return false;
    this.full = !this.response.write(chunk);
    return true;
  }

  queue(chunk: string | Buffer): void {
    this.outbox.push(chunk);
  }

  /** Writes the queued chunks as `write` does; false if the stream is too far behind. */
  flush(): boolean {
    const chunks = this.outbox;
    this.outbox = [];
    if (this.closed || chunks.length === 0) return true;
    if (this.response.writableLength > this.bufferBytes) return false;
    if (chunks.length === 1) return this.write(chunks[0]);
    this.response.cork();
    for (const chunk of chunks) this.full = !this.response.write(chunk);
    this.response.uncork();
    return true;
  }

  /** Keeps live events for after the replay; false once they would exceed the buffer bound. */
  hold(events: LiveEvent[], bytes: number): boolean {
    this.heldBytes += bytes;
    if (this.heldBytes > this.bufferBytes) return false;
    this.held.push(...events);
    return true;
  }

  takeHeld(): LiveEvent[] {
    const held = this.held.filter((e) => isAfter(e.id, this.position));
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** Resolves once the socket takes more without queueing in memory (or has closed). */
  drained(): Promise<void> {
    if (this.closed || !this.full) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.on('drain', done);
      this.response.on('close', done);
    });
  }

  /** Ends the response after `last`; a socket that will not take it is destroyed shortly after. */
  end(last?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.response.end(last);
    setTimeout(() => this.response.destroy(), 5000).unref();
  }
}
