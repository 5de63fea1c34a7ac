import type { Redis } from 'ioredis';

/**
 * Subscribes `client` to `channel` and keeps it subscribed across reconnects, calling
 * `reconnected` once the subscription is back: what was published while the connection
 * was down is lost, so the caller treats it as "anything may have changed".
 *
 * ioredis subscribes again by itself after a reconnect, but it learns its subscriptions
 * from Redis's answers: if the connection drops again before that SUBSCRIBE is answered,
 * the next reconnect subscribes to nothing, for good, and no error says so. So each
 * reconnect subscribes again here (SUBSCRIBE is idempotent); one that fails is asked again
 * by the next reconnect. A lazy connection's first 'ready' comes with the first SUBSCRIBE
 * and is no reconnect.
 */
export async function staySubscribed(
  client: Redis,
  channel: string,
  reconnected: () => void,
): Promise<void> {
  let connectedBefore = client.status === 'ready';
  client.on('ready', () => {
    if (!connectedBefore) {
      connectedBefore = true;
      return;
    }
    client.subscribe(channel).then(reconnected, () => undefined);
  });
  await client.subscribe(channel);
}
