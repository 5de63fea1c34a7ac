// @ts-check
import { parseJson, Unauthorized } from './api.js';

/**
 * The page's stream: an EventSource on /v1/stream with a fresh single-use ticket each
 * time it (re)connects, resuming after the last event it received. A ticket cannot be
 * used twice, so the browser's own reconnect would fail: the page reconnects itself.
 */

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./live-state.js').Envelope} Envelope */
/** @typedef {'live' | 'connecting' | 'signed-out' | 'error'} Status */
/**
 * @typedef {object} Handlers
 * @property {(envelope: Envelope) => void} onEvent
 * @property {(status: Status, detail?: string) => void} onStatus
 * @property {() => void} onReset  the history has a gap, or the stream started afresh: reload
 */

const TYPES = ['usage.updated', 'window.closed', 'reset', 'dropped'];
const RETRY_MS = 2000;

export class LiveStream {
  /** @type {EventSource | undefined} */
  #source;
  /** @type {string | undefined} */
  #lastEventId;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  #stopped = false;

  constructor(/** @type {Api} */ api, /** @type {Handlers} */ handlers) {
    this.api = api;
    this.handlers = handlers;
  }

  async open() {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.handlers.onStatus('connecting');
    let ticket;
    try {
      ticket = await this.api.ticket();
    } catch (error) {
      if (error instanceof Unauthorized) return this.handlers.onStatus('signed-out', error.message);
      return this.#retry(RETRY_MS);
    }
    const query = new URLSearchParams({ ticket });
    if (this.#lastEventId) query.set('lastEventId', this.#lastEventId);
    else this.handlers.onReset();
    const source = new EventSource(`/v1/stream?${query}`);
    this.#source = source;
    source.onopen = () => this.handlers.onStatus('live');
    source.onerror = () => {
      source.close();
      if (this.#source === source) this.#retry(RETRY_MS);
    };
    for (const type of TYPES) {
      source.addEventListener(type, (e) => this.#receive(type, /** @type {MessageEvent} */ (e)));
    }
  }

  close() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = undefined;
  }

  /** @param {string} type @param {MessageEvent} message */
  #receive(type, message) {
    if (message.lastEventId) this.#lastEventId = message.lastEventId;
    if (type === 'reset') return this.handlers.onReset();
    if (type === 'dropped') {
      this.#source?.close();
      const { data } = /** @type {{ data: { reason: string, detail: string } }} */ (
        parseJson(String(message.data))
      );
      if (data.reason === 'revoked') return this.handlers.onStatus('signed-out', data.detail);
      return this.#retry(10_000);
    }
    this.handlers.onEvent(/** @type {Envelope} */ (parseJson(String(message.data))));
  }

  #retry(/** @type {number} */ ms) {
    this.handlers.onStatus('connecting');
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.open(), ms);
  }
}
