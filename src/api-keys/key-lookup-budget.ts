import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { isIPv6 } from 'node:net';
import { CLOCK, type Clock } from '../common/clock';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Metrics } from '../infra/metrics/metrics';

/** Client addresses tracked at once (~150 bytes each); past it the stalest is forgotten. */
const MAX_ADDRESSES = 10_000;
/** Hashes of keys seen to exist (~150 bytes each), exempt from every budget. */
const MAX_KNOWN_KEYS = 10_000;

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * A well-formed API key missing from the cache costs a Postgres lookup, and guessing
 * keys costs the guesser nothing. Each client address may spend UNKNOWN_KEY_LIMIT
 * lookups that find no key per UNKNOWN_KEY_PERIOD_SECONDS (a fixed window from its first
 * miss); past that its lookups are refused with 429 and Retry-After before Postgres is
 * asked. A key seen to exist on this instance is never charged nor refused, from any
 * address, so known keys keep working through a flood; the cache in front (ApiKeysService)
 * keeps answering repeated unknown keys without a lookup. Per instance and in memory,
 * bounded by the two LRU caches.
 */
@Injectable()
export class KeyLookupBudget {
  private readonly limit: number;
  /** Misses per address in its current window; null when the budget is off. */
  private readonly spent: LRUCache<string, { count: number }> | null;
  private readonly known = new LRUCache<string, true>({ max: MAX_KNOWN_KEYS });

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
    private readonly metrics: Metrics,
  ) {
    const budget = config.unknownKeyBudget;
    this.limit = budget?.limit ?? Infinity;
    this.spent = budget
      ? // Read the clock on every use (ttlResolution 0): misses are rare enough.
        new LRUCache({ max: MAX_ADDRESSES, ttl: budget.periodMs, ttlResolution: 0, perf: clock })
      : null;
  }

  /** Runs `find` (the Postgres lookup of `keyHash`) if `client` may, and books its outcome. */
  async lookup<T>(
    client: string,
    keyHash: string,
    find: () => Promise<T | null>,
  ): Promise<T | null> {
    if (this.known.get(keyHash)) return this.record(keyHash, await find());
    const address = addressOf(client);
    this.charge(address);
    let found: T | null;
    try {
      found = await find();
    } catch (error) {
      this.refund(address);
      throw error;
    }
    if (found !== null) this.refund(address);
    return this.record(keyHash, found);
  }

  private record<T>(keyHash: string, found: T | null): T | null {
    this.metrics.keyLookups.inc({ outcome: found === null ? 'unknown' : 'found' });
    if (found === null) this.known.delete(keyHash);
    else this.known.set(keyHash, true);
    return found;
  }

  /** Counts the lookup before it runs, so concurrent misses cannot overdraw the budget. */
  private charge(address: string): void {
    if (!this.spent) return;
    const entry = this.spent.get(address);
    if (entry === undefined) {
      this.spent.set(address, { count: 1 });
    } else if (entry.count < this.limit) {
      // In place: the window keeps the expiry set by its first miss.
      entry.count += 1;
    } else {
      this.metrics.keyLookups.inc({ outcome: 'refused' });
      const retryAfterSeconds = Math.max(1, Math.ceil(this.spent.getRemainingTTL(address) / 1000));
      throw new DomainError(
        ErrorCode.RateLimited,
        `Too many unknown API keys from this address; retry in ${retryAfterSeconds} s.`,
        { retryAfterSeconds },
      );
    }
  }

  private refund(address: string): void {
    const entry = this.spent?.get(address);
    if (entry) entry.count -= 1;
  }
}

/**
 * The budget's unit: an IPv4 address, or an IPv6 /64, the block one subscriber is
 * usually given (whose 2^64 addresses would otherwise each get a budget).
 */
export function addressOf(ip: string): string {
  const mapped = MAPPED_IPV4.exec(ip)?.[1];
  if (mapped) return mapped;
  if (!isIPv6(ip)) return ip;
  const [head, tail] = ip.split('%')[0].split('::');
  const groups = head ? head.split(':') : [];
  if (tail !== undefined && groups.length < 4) {
    const tailGroups = tail ? tail.split(':') : [];
    // An embedded IPv4 address (the last 32 bits) counts as two groups.
    const tailLength = tailGroups.length + (tail.includes('.') ? 1 : 0);
    groups.push(...Array<string>(8 - groups.length - tailLength).fill('0'), ...tailGroups);
  }
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
