import type { ChainableCommander, Redis } from 'ioredis';

export type ScriptArgument = string | number | Buffer;

export type ScriptCommand<R> = (numKeys: number, ...args: ScriptArgument[]) => Promise<R>;

/**
 * A Lua script as a typed function of `redis`. ioredis's defineCommand sends EVALSHA and
 * falls back to EVAL on NOSCRIPT (after a Redis restart), so callers never handle either.
 */
export function defineScript<R>(redis: Redis, name: string, lua: string): ScriptCommand<R> {
  redis.defineCommand(name, { lua });
  const commands = redis as unknown as Record<string, ScriptCommand<R>>;
  return commands[name].bind(redis);
}

/**
 * A script defined on the pipeline's connection, queued on `pipeline` with a promise of
 * its own reply: the calls of one pipeline leave in one write and settle one by one, each
 * with the same EVAL fallback on NOSCRIPT as `defineScript`'s.
 */
export function queueScript<R>(
  pipeline: ChainableCommander,
  name: string,
  numKeys: number,
  args: ScriptArgument[],
): Promise<R> {
  return new Promise((resolve, reject) => {
    const queue = (pipeline as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
    queue.call(pipeline, numKeys, ...args, (error: Error | null, reply: R) =>
      error ? reject(error) : resolve(reply),
    );
  });
}
