import type { Redis } from 'ioredis';

interface Stashed {
  command: { reject(error: Error): void; promise: Promise<unknown> };
}

/**
 * ioredis 5 stashes the commands in flight when a connection drops and, with
 * `autoResendUnfulfilledCommands: false`, throws the stash away once it is ready again
 * without settling them: their callers wait forever (redis/ioredis#2193, fixed by #2194
 * in 6.x, which TypeORM 1.1's peer range `^5` rules out). A Redis back within a couple of
 * reconnect attempts left the closer, the persistence worker and the epoch check of an
 * instance hung for good. The 'close' event comes after the stash is made: reject each
 * command there, as every other connection-drop path does. Some of them nobody waits
 * for — ioredis's own SUBSCRIBE after a reconnect, sent without a handler (it resubscribes
 * on the next one) — and an unhandled rejection ends the process: each is marked handled
 * first; callers that wait still get the error.
 */
export function rejectCommandsDroppedOnReconnect(client: Redis): void {
  client.on('close', () => {
    const stash = (client as unknown as { prevCommandQueue?: { shift(): Stashed | undefined } })
      .prevCommandQueue;
    for (let item = stash?.shift(); item; item = stash?.shift()) {
      item.command.promise.catch(() => undefined);
      item.command.reject(new Error('Command aborted due to connection close'));
    }
  });
}
