import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../errors/domain-error';

/**
 * How deeply a JSON request body may nest (the outermost array or object is level 1).
 * An ingest body uses 3 (array, event, metadata); the validator, the metadata size
 * check and JSON.stringify are recursive and overflow the stack a few thousand levels
 * down, as a 500. 32 leaves producers room and keeps everything after parsing shallow.
 */
export const MAX_JSON_DEPTH = 32;

type Done = (error: Error | null, body?: unknown) => void;

/**
 * The body parsers, for every route: JSON only (the API declares no other media type,
 * so anything else is a 415; Fastify's text/plain and Nest's form parser are not
 * registered), parsed by Fastify's own JSON parser (prototype-poisoning checks
 * included), then held to `maxDepth`: a body nested deeper is a 400 before any route
 * sees it. Nest's own parsers must be off (`bodyParser: false`).
 */
export function parseJsonBodies(fastify: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = fastify.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: Done,
  ) => void;
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    parse(request, body as string, (error, value) => {
      if (error) return done(error);
      if (nestsDeeperThan(value, maxDepth)) {
        return done(
          new DomainError(
            ErrorCode.BadRequest,
            `The JSON body nests deeper than ${maxDepth} levels of arrays and objects.`,
          ),
        );
      }
      done(null, value);
    }),
  );
}

/**
 * Counted on the parsed value (JSON.parse itself is iterative in V8), with an explicit
 * stack, so the check cannot overflow; ~6 µs for a body of 100 events, against ~70 µs
 * for parsing it (docs/reliability/bad-input.md).
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (!isContainer(value)) return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    // Only containers are pushed: scalars cannot nest.
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const item: unknown = current[i];
        if (isContainer(item)) {
          pending.push(item);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const name in current) {
        const item = (current as Record<string, unknown>)[name];
        if (isContainer(item)) {
          pending.push(item);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}
