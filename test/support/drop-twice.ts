import type { Redis } from 'ioredis';

/**
 * Drops the client's connection, and again as soon as it is back: what ioredis sends by
 * itself on a reconnect (its SUBSCRIBE again) is then in flight, unanswered, when the
 * connection goes. Resolves once the client is ready a third time.
 */
export async function dropTwice(client: Redis): Promise<void> {
  const droppedAgain = new Promise<void>((resolve) =>
    client.once('ready', () => {
      client.stream.destroy();
      resolve();
    }),
  );
  client.stream.destroy();
  await droppedAgain;
  await new Promise((resolve) => client.once('ready', resolve));
}
