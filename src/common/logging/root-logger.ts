import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { AppConfig } from '../../config/app-config';

/**
 * Credentials that must never reach a log line, wherever a request's headers are logged.
 * Nothing logs headers today (the request line has method, path, route, status and time);
 * this is the net under whoever adds them.
 */
export const REDACTED_PATHS = ['authorization', 'x-api-key', 'x-admin-token', 'cookie'].flatMap(
  (header) => [`req.headers["${header}"]`, `headers["${header}"]`],
);

/** The key of the request id on every line logged during a request (Fastify's `requestIdLogLabel`). */
export const REQUEST_ID_KEY = 'requestId';

/**
 * The process's one pino logger: JSON lines on stdout (or `destination`), level names
 * rather than numbers, ISO times, the instance id on every line. Fastify derives each
 * request's logger from it; Nest's `Logger` writes through `PinoNestLogger`. `fields`,
 * when tracing is on, adds the active trace and span ids to every line (pino's mixin).
 */
export function createRootLogger(
  config: AppConfig,
  destination?: DestinationStream,
  fields?: () => object,
): Logger {
  const options: LoggerOptions = {
    ...(fields ? { mixin: fields } : {}),
    level: config.log.level,
    base: { instance: config.instanceId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  // pino's own stdout stream: asynchronous writes, flushed when the process exits.
  return destination ? pino(options, destination) : pino(options);
}
