import { crc32 } from 'node:zlib';

/** Length (u32) and CRC-32 of the payload (u32), big-endian, before each payload. */
export const FRAME_HEADER_BYTES = 8;

/**
 * Far above any record the service writes (one request's events, bounded by the body
 * limit); a header claiming more is garbage, not a record.
 */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length === 0 || payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`a spool record holds 1 to ${MAX_PAYLOAD_BYTES} bytes`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedSegment {
  payloads: Buffer[];
  /** Bytes from the first bad frame to the end, ignored (zero when the segment is whole). */
  discardedBytes: number;
}

/**
 * Reads frames until the data ends or a frame is not whole and valid. The writer never
 * appends after a failed write and acknowledges only synced frames, so a bad frame can
 * only be the tail a crash tore, which nobody was told was stored. A zero length is
 * refused: it is what a file extended by a crash but never written reads back as (zeros,
 * whose CRC-32 of nothing would otherwise check out).
 */
export function decodeFrames(data: Buffer): DecodedSegment {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (data.length - offset >= FRAME_HEADER_BYTES) {
    const length = data.readUInt32BE(offset);
    const start = offset + FRAME_HEADER_BYTES;
    if (length === 0 || length > MAX_PAYLOAD_BYTES || start + length > data.length) break;
    const payload = data.subarray(start, start + length);
    if (crc32(payload) !== data.readUInt32BE(offset + 4)) break;
    payloads.push(payload);
    offset = start + length;
  }
  return { payloads, discardedBytes: data.length - offset };
}
