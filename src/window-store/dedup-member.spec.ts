import { dedupMember } from './dedup-member';

const id = (member: Buffer) => member.subarray(2);

describe('dedupMember', () => {
  it('packs a lowercase canonical UUID into its 16 bytes', () => {
    const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    expect(id(dedupMember(uuid)).toString('hex')).toBe(uuid.replace(/-/g, ''));
  });

  it('keeps any other id as its bytes, marked when 16 bytes or longer', () => {
    expect(id(dedupMember('evt-1')).toString()).toBe('evt-1');
    const upper = '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0';
    expect(id(dedupMember(upper))).toEqual(Buffer.concat([Buffer.from(upper), Buffer.from([0])]));
    expect(id(dedupMember('x'.repeat(16)))).toHaveLength(17);
  });

  it('gives different ids different members, including ids that pack alike', () => {
    const packedBytes = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex').toString('latin1');
    const ids = [
      '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0',
      packedBytes,
      `${packedBytes.slice(0, 15)}`,
      'x'.repeat(15),
      'x'.repeat(16),
      `${'x'.repeat(16)}\u0000`,
    ];
    const members = new Set(ids.map((i) => dedupMember(i).toString('hex')));
    expect(members.size).toBe(ids.length);
  });

  it('is the same for the same id, hash bytes included', () => {
    expect(dedupMember('req-42')).toEqual(dedupMember('req-42'));
  });

  it('spreads sequential ids over the buckets of a level', () => {
    const buckets = new Set<number>();
    for (let i = 0; i < 1000; i++) buckets.add(dedupMember(`req-${i}`).readUInt16BE(0) % 16);
    expect(buckets.size).toBe(16);
  });
});
