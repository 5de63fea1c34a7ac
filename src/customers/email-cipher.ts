import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { EncryptionKeys } from '../config/app-config';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedEmail {
  /** nonce ‖ ciphertext ‖ GCM tag */
  sealed: Buffer;
  keyId: string;
}

/**
 * Customer emails at rest: AES-256-GCM under the current ENCRYPTION_KEY, a fresh random
 * nonce each time, and the row's identity as associated data, so a ciphertext copied to
 * another row (or tenant) fails to open. The key id travels with the row, so a key can
 * be rotated while rows sealed under the previous one stay readable.
 *
 * Lookup is by a keyed hash of the normalised address under a subkey of API_KEY_SECRET,
 * not of the encryption key: rotating the encryption key must not break lookups.
 */
export class EmailCipher {
  private readonly lookupKey: Buffer;

  constructor(
    private readonly keys: EncryptionKeys,
    hashSecret: string,
  ) {
    this.lookupKey = Buffer.from(hkdfSync('sha256', hashSecret, '', 'tally/customer-email', 32));
  }

  seal(email: string, rowIdentity: string): SealedEmail {
    const keyId = this.keys.currentId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(keyId), nonce);
    cipher.setAAD(Buffer.from(rowIdentity));
    const body = Buffer.concat([cipher.update(email, 'utf8'), cipher.final()]);
    return { sealed: Buffer.concat([nonce, body, cipher.getAuthTag()]), keyId };
  }

  open({ sealed, keyId }: SealedEmail, rowIdentity: string): string {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.key(keyId),
      sealed.subarray(0, NONCE_BYTES),
    );
    decipher.setAAD(Buffer.from(rowIdentity));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  }

  /** Case and surrounding space do not make another address. */
  lookupHash(email: string): string {
    return createHmac('sha256', this.lookupKey).update(email.trim().toLowerCase()).digest('hex');
  }

  private key(keyId: string): Buffer {
    const key = this.keys.keys.get(keyId);
    if (!key) throw new Error(`encryption key '${keyId}' is not configured`);
    return key;
  }
}
