/**
 * What the ingest script stores for an eventId in the window's dedup buckets: two bytes
 * of a hash of the id (they pick the bucket), then the id itself, packed. A lowercase
 * canonical UUID — what producers are told to send — becomes its 16 bytes; any other id
 * stays its UTF-8 bytes, with a 0x00 byte appended when that is 16 bytes or more, so that
 * no other id can read as a packed UUID. The mapping is one-to-one: two ids share a
 * member only if they are the same id, so dedup stays exact. The script unpacks a member
 * back to the id only to look it up in a window's dedup set of the layout before it.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function dedupMember(eventId: string): Buffer {
  let member: Buffer;
  if (eventId.length === 36 && UUID.test(eventId)) {
    member = Buffer.allocUnsafe(18);
    member.write(eventId.slice(0, 8), 2, 'hex');
    member.write(eventId.slice(9, 13), 6, 'hex');
    member.write(eventId.slice(14, 18), 8, 'hex');
    member.write(eventId.slice(19, 23), 10, 'hex');
    member.write(eventId.slice(24), 12, 'hex');
  } else {
    const length = Buffer.byteLength(eventId);
    member = Buffer.alloc(2 + length + (length >= 16 ? 1 : 0));
    member.write(eventId, 2, 'utf8');
  }
  member.writeUInt16BE(fold(member), 0);
  return member;
}

/** FNV-1a over the packed id, folded to 16 bits: the bucket index at every level. */
function fold(member: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 2; i < member.length; i++) {
    hash = Math.imul(hash ^ member[i], 0x01000193);
  }
  return ((hash >>> 16) ^ hash) & 0xffff;
}
