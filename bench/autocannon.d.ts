// autocannon ships no types; declaring just what the benchmark uses spares a dependency.
declare module 'autocannon' {
  export interface RequestParams {
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  export interface Request extends RequestParams {
    setupRequest?: (req: RequestParams, context: object) => RequestParams;
    onResponse?: (
      status: number,
      body: string,
      context: object,
      headers: Record<string, string | string[]>,
    ) => void;
  }

  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    method?: string;
    headers?: Record<string, string>;
    requests?: Request[];
    warmup?: { duration: number };
    /** Requests per second across all connections (a fixed arrival rate). */
    overallRate?: number;
  }

  export interface Result {
    /** Seconds. */
    duration: number;
    /** Socket errors, timeouts included. */
    errors: number;
    non2xx: number;
    '2xx': number;
    /** Milliseconds. */
    latency: { p50: number; p99: number };
    requests: { total: number; average: number };
  }

  export default function autocannon(options: Options): PromiseLike<Result>;
}
