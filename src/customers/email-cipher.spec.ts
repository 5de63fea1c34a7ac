import { randomBytes } from 'node:crypto';
import { EmailCipher } from './email-cipher';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const secret = 'hash-secret-0123456789abcdef0123456789';

describe('EmailCipher', () => {
  const cipher = new EmailCipher({ currentId: 'k1', keys: new Map([['k1', k1]]) }, secret);

  it('opens what it sealed, and the sealed bytes hold no plaintext', () => {
    const sealed = cipher.seal('Ada@Example.com', 't/c-1');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.sealed.toString('latin1')).not.toContain('Ada');
    expect(cipher.open(sealed, 't/c-1')).toBe('Ada@Example.com');
  });

  it('uses a fresh nonce each time', () => {
    const a = cipher.seal('a@b.c', 'x').sealed;
    const b = cipher.seal('a@b.c', 'x').sealed;
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a ciphertext moved to another row or altered', () => {
    const sealed = cipher.seal('a@b.c', 'tenant-a/c-1');
    expect(() => cipher.open(sealed, 'tenant-b/c-1')).toThrow();
    const altered = Buffer.from(sealed.sealed);
    altered[14] ^= 1;
    expect(() => cipher.open({ ...sealed, sealed: altered }, 'tenant-a/c-1')).toThrow();
  });

  it('after rotation, seals under the new key and still opens rows of the old one', () => {
    const old = cipher.seal('a@b.c', 'r');
    const rotated = new EmailCipher(
      {
        currentId: 'k2',
        keys: new Map([
          ['k2', k2],
          ['k1', k1],
        ]),
      },
      secret,
    );
    expect(rotated.open(old, 'r')).toBe('a@b.c');
    expect(rotated.seal('a@b.c', 'r').keyId).toBe('k2');
    expect(rotated.lookupHash('a@b.c')).toBe(cipher.lookupHash('a@b.c'));
  });

  it('names a key id it does not have', () => {
    const sealed = new EmailCipher({ currentId: 'k9', keys: new Map([['k9', k2]]) }, secret).seal(
      'a@b.c',
      'r',
    );
    expect(() => cipher.open(sealed, 'r')).toThrow("encryption key 'k9' is not configured");
  });

  it('hashes one address one way whatever its case, and is keyed', () => {
    expect(cipher.lookupHash(' A@B.c ')).toBe(cipher.lookupHash('a@b.c'));
    const other = new EmailCipher({ currentId: 'k1', keys: new Map([['k1', k1]]) }, 'x'.repeat(32));
    expect(other.lookupHash('a@b.c')).not.toBe(cipher.lookupHash('a@b.c'));
  });
});
