import ipaddr from 'ipaddr.js';
import type { EncryptionKeys, Network } from './app-config';

export class ConfigError extends Error {}

const KEY_BYTES = 32;

/**
 * `https://app.example.com, http://localhost:5173` → those origins (scheme, host, port: what
 * a browser sends in Origin), or `*` alone for any origin.
 */
export function parseOrigins(name: string, value: string): string[] | '*' {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 1 && entries[0] === '*') return '*';
  return entries.map((entry) => {
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin === 'null' || origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError(
        `Invalid configuration: ${name} has '${entry}', not an origin (scheme://host[:port]) or a lone *`,
      );
    }
    return origin;
  });
}

/** `10.0.0.0/8, 127.0.0.1, ::1` → networks; a bare address is a network of one. */
export function parseNetworks(name: string, value: string): Network[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const network = parseNetwork(entry);
      if (network) return network;
      const slash = entry.lastIndexOf('/');
      const problem =
        slash > 0 && isAddress(entry.slice(0, slash)) ? 'a bad prefix in' : 'a bad entry';
      throw new ConfigError(`Invalid configuration: ${name} has ${problem} '${entry}'`);
    });
}

/**
 * ipaddr.js, strictly: IPv4 only as four decimal parts (its lenient parser also takes
 * `10`, `0x0a.1` or octal parts, which nobody means in an allow-list), and no IPv6 zone
 * (`%eth0`), which the TCP peer's address never carries.
 */
function parseNetwork(entry: string): Network | null {
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  let prefix: number;
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) || ipaddr.IPv6.isValidCIDR(entry)) {
    [address, prefix] = ipaddr.parseCIDR(entry);
  } else if (isAddress(entry)) {
    address = ipaddr.parse(entry);
    prefix = address.kind() === 'ipv6' ? 128 : 32;
  } else {
    return null;
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).zoneId !== undefined) return null;
  return { address: address.toString(), prefix, family: address.kind() };
}

function isAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
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
