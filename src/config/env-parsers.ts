import { isIP } from 'node:net';
import type { EncryptionKeys, Network } from './app-config';

export class ConfigError extends Error {}

const KEY_BYTES = 32;

/** `10.0.0.0/8, 127.0.0.1, ::1` → networks; a bare address is a network of one. */
export function parseNetworks(name: string, value: string): Network[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const [address, prefixText, extra] = entry.split('/');
      const version = isIP(address);
      const max = version === 6 ? 128 : 32;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (version === 0 || extra !== undefined || !Number.isInteger(prefix)) {
        throw new ConfigError(`Invalid configuration: ${name} has a bad entry '${entry}'`);
      }
      if (prefix < 0 || prefix > max) {
        throw new ConfigError(`Invalid configuration: ${name} has a bad prefix in '${entry}'`);
      }
      return { address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' };
    });
}

/** The current key under its id, plus `id:base64,…` previous keys kept to decrypt older rows. */
export function parseEncryptionKeys(
  current: string,
  currentId: string,
  previous: string | undefined,
): EncryptionKeys {
  const keys = new Map<string, Buffer>([[currentId, decodeKey('ENCRYPTION_KEY', current)]]);
  for (const entry of previous?.split(',') ?? []) {
    const [id, encoded] = entry.trim().split(':');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id ?? '') || encoded === undefined || keys.has(id)) {
      throw new ConfigError(
        'Invalid configuration: ENCRYPTION_PREVIOUS_KEYS must be id:key pairs, ids unique and not the current one',
      );
    }
    keys.set(id, decodeKey('ENCRYPTION_PREVIOUS_KEYS', encoded));
  }
  return { currentId, keys };
}

function decodeKey(name: string, encoded: string): Buffer {
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from ignores what is not base64, so check the round trip, not just the length.
  if (key.length !== KEY_BYTES || key.toString('base64') !== encoded) {
    throw new ConfigError(`Invalid configuration: ${name} must be ${KEY_BYTES} bytes in base64`);
  }
  return key;
}
