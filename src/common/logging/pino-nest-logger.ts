import { requestContext } from '@fastify/request-context';
import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

declare module '@fastify/request-context' {
  interface RequestContextData {
    /** The request's Fastify logger, bound to its id (`createApp` puts it there). */
    log?: Logger;
  }
}

/** Nest's start-up inventory (a line per module and route): debug, not info. */
const FRAMEWORK_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Nest's `Logger` (every `new Logger(context)` in src/, and Nest's own messages) as pino
 * JSON lines. During a request a line goes through that request's Fastify logger, which
 * carries its id, found in the request context the tenant already needs: a log call costs
 * one AsyncLocalStorage lookup, and a request nothing more.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    const context = params.at(-1);
    this.write(
      typeof context === 'string' && FRAMEWORK_CHATTER.has(context) ? 'debug' : 'info',
      message,
      params,
    );
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** The current request's logger, or the root one outside requests. */
  private current(): Logger {
    return requestContext.get('log') ?? this.root;
  }

  /**
   * Nest's contract: `(message, ...params, context)` where an instance made with a
   * context appends it, and `error(message, stack?, context?)`. An object message
   * becomes fields (an Error becomes `err`, serialized with its stack).
   */
  private write(level: Level, message: unknown, params: unknown[]): void {
    const logger = this.current();
    if (!logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (typeof rest.at(-1) === 'string') {
      fields.context = rest.at(-1);
      rest = rest.slice(0, -1);
    }
    rest = rest.filter((param) => param !== undefined);
    let text: string | undefined;
    if (message instanceof Error) {
      fields.err = message;
      text = message.message;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(fields, message);
    } else {
      text = String(message);
    }
    if (text === undefined && typeof rest[0] === 'string') {
      text = rest[0];
      rest = rest.slice(1);
    } else if (level === 'error' && typeof rest[0] === 'string') {
      fields.stack = rest[0];
      rest = rest.slice(1);
    }
    if (rest.length > 0) fields.details = rest;
    logger[level](fields, text);
  }
}
