import { decodeFrames, encodeFrame, FRAME_HEADER_BYTES } from './spool-frame';

const records = ['first', 'second record', '{"third":3}'].map((text) => Buffer.from(text));
const segment = Buffer.concat(records.map(encodeFrame));

describe('spool frames', () => {
  it('reads back every record of a whole segment, in order', () => {
    expect(decodeFrames(segment)).toEqual({ payloads: records, discardedBytes: 0 });
  });

  it.each([
    ['in the last header', segment.length - encodeFrame(records[2]).length + 3],
    ['in the last payload', segment.length - 2],
    ['right after the first header', encodeFrame(records[0]).length + FRAME_HEADER_BYTES],
  ])('ignores a tail torn %s, keeping the records before it', (_, cut) => {
    const torn = segment.subarray(0, cut);
    const { payloads, discardedBytes } = decodeFrames(torn);
    const whole = payloads.reduce((sum, p) => sum + FRAME_HEADER_BYTES + p.length, 0);
    expect(payloads).toEqual(records.slice(0, payloads.length));
    expect(payloads.length).toBeLessThan(records.length);
    expect(whole + discardedBytes).toBe(cut);
  });

  it('stops at a record whose checksum does not match', () => {
    const damaged = Buffer.from(segment);
    const second = encodeFrame(records[0]).length;
    damaged[second + FRAME_HEADER_BYTES] ^= 0x01;
    expect(decodeFrames(damaged)).toEqual({
      payloads: [records[0]],
      discardedBytes: segment.length - second,
    });
  });

  it('takes zeros after the records (a file extended by a crash, never written) for a torn tail', () => {
    const extended = Buffer.concat([segment, Buffer.alloc(4096)]);
    expect(decodeFrames(extended)).toEqual({ payloads: records, discardedBytes: 4096 });
  });

  it('refuses a header that claims more than the data holds', () => {
    const lying = encodeFrame(Buffer.from('x'));
    lying.writeUInt32BE(1_000_000, 0);
    expect(decodeFrames(lying)).toEqual({ payloads: [], discardedBytes: lying.length });
  });

  it('never writes an empty record', () => {
    expect(() => encodeFrame(Buffer.alloc(0))).toThrow(RangeError);
  });
});
