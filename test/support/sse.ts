import { type ClientRequest, type IncomingMessage, request } from 'node:http';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
  receivedAt: number;
}

/**
 * A Server-Sent Events client for tests, on a real socket: parses frames as the HTML
 * standard does (the last event id moves with every `id:`, even one without data), and
 * can stop reading to play a slow client.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** What a browser would send back as Last-Event-ID. */
  lastEventId: string | undefined;
  retryMs: number | undefined;
  ended = false;
  private buffer = '';
  private pending: { id?: string; event?: string; data: string[] } = { data: [] };
  private listeners: (() => void)[] = [];

  private constructor(
    private readonly req: ClientRequest,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.parse(chunk));
    const end = () => {
      this.ended = true;
      this.notify();
    };
    response.on('end', end);
    response.on('close', end);
    response.on('error', end);
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } });
      req.on('response', (response) => resolve(new SseClient(req, response)));
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The whole body of a refusal (a problem+json). */
  async body(): Promise<string> {
    await this.until(() => this.ended, 5000, 'the end of the response');
    return this.buffer;
  }

  /** Events of a type, data parsed. */
  of<T = any>(type: string): (T & { id: string })[] {
    return this.events.filter((e) => e.event === type).map((e) => JSON.parse(e.data));
  }

  async waitFor(
    what: string,
    predicate: (client: SseClient) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    await this.until(() => predicate(this), timeoutMs, what);
  }

  /** Stops reading from the socket: the server's writes pile up, as with a stalled client. */
  stopReading(): void {
    this.response.pause();
    this.response.socket.pause();
  }

  close(): void {
    this.req.destroy();
  }

  private until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.push(listener);
      listener();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private parse(chunk: string): void {
    if (this.status !== 200) {
      this.buffer += chunk;
      return;
    }
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.line(line);
    }
    this.notify();
  }

  private line(line: string): void {
    if (line === '') {
      const { id, event, data } = this.pending;
      this.pending = { data: [] };
      if (id !== undefined) this.lastEventId = id;
      if (data.length === 0) return;
      this.events.push({
        id: this.lastEventId,
        event: event ?? 'message',
        data: data.join('\n'),
        receivedAt: Date.now(),
      });
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.pending.id = value;
    else if (field === 'event') this.pending.event = value;
    else if (field === 'data') this.pending.data.push(value);
    else if (field === 'retry') this.retryMs = Number(value);
  }
}
