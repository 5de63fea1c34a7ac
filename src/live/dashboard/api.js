// @ts-check
/**
 * Everything the page asks the service, in one place. Reads come from /v1/windows for
 * now; when the analytics endpoints exist (GET /v1/usage?granularity=minute&groupBy=
 * customer), `history` switches to them and nothing else in the page changes.
 */

/** @typedef {{ customerId: string, startMs: number, endMs: number, calls: number, tokens: number }} Bucket */
/** @typedef {{ buckets: Bucket[], truncated: boolean }} History */
/**
 * A window as GET /v1/windows returns it (and the stream's window.closed carries it).
 * @typedef {{ customerId: string, windowStart: string, windowEnd: string, aggregations: { totalCalls: number, totalTokens: number } }} WindowView
 */
/** @typedef {{ data: WindowView[], nextCursor: string | null }} WindowPage */

/** /v1/windows pages of 1,000; beyond this many the chart says it is incomplete. */
const MAX_PAGES = 20;

export class Unauthorized extends Error {}

export class Api {
  /** @type {string | undefined} */
  #token;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #renewal;

  /**
   * Exchanges the key for a token (POST /v1/auth/token) and keeps it fresh: the renewal
   * timer holds the key, in memory only, until sign-out.
   */
  async signIn(/** @type {string} */ key) {
    const body = /** @type {{ accessToken: string, expiresIn: number }} */ (
      await this.#call('/v1/auth/token', { method: 'POST', headers: { 'x-api-key': key } })
    );
    this.#token = body.accessToken;
    clearTimeout(this.#renewal);
    // Renew at four fifths of the lifetime; a failure signs out on the next read.
    this.#renewal = setTimeout(
      () => void this.signIn(key).catch(() => this.signOut()),
      body.expiresIn * 800,
    );
  }

  signOut() {
    clearTimeout(this.#renewal);
    this.#token = undefined;
  }

  get signedIn() {
    return this.#token !== undefined;
  }

  /** A single-use ticket for the stream's URL (EventSource cannot send headers). */
  async ticket() {
    const body = /** @type {{ ticket: string }} */ (
      await this.#call('/v1/auth/stream-ticket', { method: 'POST' })
    );
    return body.ticket;
  }

  /**
   * Calls and tokens per customer and window from `fromMs` to `toMs`.
   * @returns {Promise<History>}
   */
  async history(/** @type {number} */ fromMs, /** @type {number} */ toMs) {
    /** @type {Bucket[]} */
    const buckets = [];
    const query = new URLSearchParams({
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      limit: '1000',
    });
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = /** @type {WindowPage} */ (await this.#call(`/v1/windows?${query}`));
      for (const w of body.data) buckets.push(bucketOfWindow(w));
      if (!body.nextCursor) return { buckets, truncated: false };
      query.set('cursor', body.nextCursor);
    }
    return { buckets, truncated: true };
  }

  /**
   * @param {string} path
   * @param {RequestInit & { headers?: Record<string, string> }} [init]
   * @returns {Promise<unknown>}
   */
  async #call(path, init = {}) {
    /** @type {Record<string, string>} */
    const headers = { ...init.headers };
    if (!headers['x-api-key'] && this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await fetch(path, { ...init, headers });
    if (response.status === 401 || response.status === 403) {
      const problem = /** @type {{ detail?: string }} */ (parseJson(await response.text()) ?? {});
      throw new Unauthorized(problem.detail ?? 'Not signed in.');
    }
    if (!response.ok) throw new Error(`${path.split('?')[0]} answered ${response.status}`);
    return parseJson(await response.text());
  }
}

/**
 * @param {WindowView} w
 * @returns {Bucket}
 */
export function bucketOfWindow(w) {
  return {
    customerId: w.customerId,
    startMs: Date.parse(w.windowStart),
    endMs: Date.parse(w.windowEnd),
    calls: w.aggregations.totalCalls,
    tokens: w.aggregations.totalTokens,
  };
}

/**
 * JSON as `unknown`, for callers to say what they expect.
 * @param {string} text
 * @returns {unknown}
 */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
