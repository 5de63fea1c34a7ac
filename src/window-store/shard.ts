const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over tenant and customer: stable across processes and versions, cheap, and
 * spreads the customers of one tenant over every shard.
 */
export function shardOf(tenantId: string, customerId: string, shards: number): number {
  let hash = FNV_OFFSET;
  const key = `${tenantId}\u0000${customerId}`;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash % shards;
}

/** Items by shard, each list in input order. */
export function groupByShard<T extends { tenantId: string; customerId: string }>(
  items: T[],
  shards: number,
): Map<number, T[]> {
  const byShard = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(item.tenantId, item.customerId, shards);
    const list = byShard.get(shard);
    if (list) list.push(item);
    else byShard.set(shard, [item]);
  }
  return byShard;
}
