import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { LoadingCache } from '../common/cache/loading-cache';
import { CLOCK, type Clock } from '../common/clock';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { ApiKey } from './api-key.entity';
import { hashKey, isWellFormedKey, issueKey } from './api-key-codec';
import { ApiKeysRepository, type KeyState } from './api-keys.repository';
import { KeyLookupBudget } from './key-lookup-budget';
import type { KeyRateLimits, Principal } from '../common/access/principal';
import type { Scope } from '../common/access/scope';
import { isUuid } from '../common/uuid';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  name: string;
  scopes: Scope[];
  rateLimits: KeyRateLimits;
  createdAt: Date;
}

export type { KeyState };

/** last_used_at is written at most this often per key: a read path must not become a write path. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Presented keys whose hash is remembered: more than the keys one instance sees at once. */
const REMEMBERED_HASHES = 10_000;

@Injectable()
export class ApiKeysService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly states: LoadingCache<KeyState | null>;
  private readonly lastNoted = new Map<string, number>();
  private readonly pendingNotes = new Set<Promise<void>>();
  /**
   * A presented key's HMAC, computed once: it was 3-4 % of a quota check's CPU
   * (docs/performance.md). It is a pure function of the key, so it needs no expiry;
   * revocation is the key state's business (`states`). Holding presented keys in memory
   * exposes nothing the process's memory did not already give away: the server secret
   * that makes the hashes, and each key as it arrives (docs/multi-tenancy.md).
   */
  private readonly hashes = new LRUCache<string, string>({ max: REMEMBERED_HASHES });

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly lookupBudget: KeyLookupBudget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.states = new LoadingCache({
      freshMs: config.apiKeyCacheMs,
      staleMs: config.apiKeyStaleMs,
      clock,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.pendingNotes);
  }

  /** The plaintext is returned here once and never stored. */
  async create(
    scope: TenantScope,
    name: string,
    scopes: Scope[],
    rateLimits: KeyRateLimits = {},
  ): Promise<CreatedKey> {
    const { key, prefix } = issueKey();
    const keyHash = hashKey(key, this.config.apiKeySecret);
    const row = await this.keys.insert(scope, { name, prefix, scopes, rateLimits, keyHash });
    return { id: row.id, key, prefix, name, scopes, rateLimits, createdAt: row.createdAt };
  }

  list(scope: TenantScope): Promise<ApiKey[]> {
    return this.keys.list(scope);
  }

  /** Idempotent; the key stops working here at once and on other instances within the cache time. */
  async revoke(scope: TenantScope, keyId: string): Promise<void> {
    const found = isUuid(keyId) && (await this.keys.revoke(scope, keyId));
    if (!found) {
      throw new DomainError(ErrorCode.NotFound, `No API key '${keyId}'.`);
    }
    this.forgetCached();
  }

  /**
   * Replaces the key's own rate limits. Applies here at once and on other instances within
   * the cache time, like a revocation.
   */
  async setRateLimits(
    scope: TenantScope,
    keyId: string,
    rateLimits: KeyRateLimits,
  ): Promise<ApiKey> {
    const key = isUuid(keyId) ? await this.keys.setRateLimits(scope, keyId, rateLimits) : null;
    if (!key) throw new DomainError(ErrorCode.NotFound, `No API key '${keyId}'.`);
    this.forgetCached();
    return key;
  }

  /**
   * Looked up by hash before the tenant is known: the one key read that spans tenants.
   * A miss goes to Postgres only within the client address's budget (KeyLookupBudget).
   */
  byKey(key: string, client: string): Promise<KeyState | null> {
    const keyHash = this.hashOf(key);
    if (keyHash === null) return Promise.resolve(null);
    return this.states.get(`hash:${keyHash}`, () =>
      this.lookupBudget.lookup(client, keyHash, () => this.keys.stateByHash(keyHash)),
    );
  }

  private hashOf(key: string): string | null {
    const remembered = this.hashes.get(key);
    if (remembered !== undefined) return remembered;
    if (!isWellFormedKey(key)) return null;
    const keyHash = hashKey(key, this.config.apiKeySecret);
    this.hashes.set(key, keyHash);
    return keyHash;
  }

  /** For a token: its signature already proved the tenant, so the read is scoped to it. */
  byId(scope: TenantScope, keyId: string): Promise<KeyState | null> {
    if (!isUuid(keyId)) return Promise.resolve(null);
    return this.states.get(`id:${scope.tenantId}:${keyId}`, () =>
      this.keys.stateById(scope, keyId),
    );
  }

  /** Records use without delaying the request; a failure is logged, never the caller's problem. */
  noteUsed(principal: Principal): void {
    const now = this.clock.now();
    if (now - (this.lastNoted.get(principal.keyId) ?? -Infinity) < LAST_USED_RESOLUTION_MS) {
      return;
    }
    if (this.lastNoted.size >= 10_000) this.lastNoted.clear();
    this.lastNoted.set(principal.keyId, now);
    const note = this.keys
      .noteUsed(principal)
      .then(
        () => undefined,
        (error: Error) => this.logger.warn(`last_used_at not recorded: ${error.message}`),
      )
      .finally(() => this.pendingNotes.delete(note));
    this.pendingNotes.add(note);
  }

  /**
   * After a revocation or a tenant's deactivation: this instance stops trusting what it
   * read, and will not fall back on it either, since it knows it changed.
   */
  forgetCached(): void {
    this.states.clear();
  }
}
