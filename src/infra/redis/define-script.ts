import type { Redis } from 'ioredis';

export type ScriptCommand<R> = (
  numKeys: number,
  ...args: (string | number | Buffer)[]
) => Promise<R>;

/**
 * A Lua script as a typed function of `redis`. ioredis's defineCommand sends EVALSHA and
 * falls back to EVAL on NOSCRIPT (after a Redis restart), so callers never handle either.
 */
export function defineScript<R>(redis: Redis, name: string, lua: string): ScriptCommand<R> {
  redis.defineCommand(name, { lua });
  const commands = redis as unknown as Record<string, ScriptCommand<R>>;
  return commands[name].bind(redis);
}
