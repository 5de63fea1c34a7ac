import { createHmac, randomBytes } from 'node:crypto';

const KEY_PATTERN = /^tly_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

export interface IssuedKey {
  key: string;
  prefix: string;
}

/** Keys look like `tly_<8-char prefix>_<256-bit secret>`: recognisable in logs and scanners. */
export function issueKey(): IssuedKey {
  const prefix = randomBytes(5).toString('hex').slice(0, 8);
  return { prefix, key: `tly_${prefix}_${randomBytes(32).toString('base64url')}` };
}

export function isWellFormedKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Keyed hash: a stolen table of hashes is useless without the server secret. */
export function hashKey(key: string, secret: string): string {
  return createHmac('sha256', secret).update(key).digest('hex');
}
