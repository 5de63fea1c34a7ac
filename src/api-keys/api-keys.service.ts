import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { LoadingCache } from '../common/cache/loading-cache';
import { CLOCK, type Clock } from '../common/clock';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { SystemDatabase } from '../infra/database/system-database';
import { TenantDatabase } from '../infra/database/tenant-database';
import { tenantScope, type TenantScope } from '../infra/database/tenant-scope';
import { ApiKey } from './api-key.entity';
import { hashKey, isWellFormedKey, issueKey } from './api-key-codec';
import {
  KEY_BY_HASH_SQL,
  KEY_BY_ID_SQL,
  NOTE_KEY_USED_SQL,
  REVOKE_KEY_SQL,
  SET_KEY_RATE_LIMITS_SQL,
  type KeyStateRow,
} from './api-keys.sql';
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

/**
 * What authentication needs to know about a key, cached for API_KEY_CACHE_SECONDS, and
 * served for up to API_KEY_STALE_SECONDS while Postgres is unreachable (docs/multi-tenancy.md).
 */
export interface KeyState {
  principal: Principal;
  revoked: boolean;
  tenantActive: boolean;
}

/** last_used_at is written at most this often per key: a read path must not become a write path. */
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeysService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly states: LoadingCache<KeyState | null>;
  private readonly lastNoted = new Map<string, number>();
  private readonly pendingNotes = new Set<Promise<void>>();

  constructor(
    private readonly tenantDb: TenantDatabase,
    private readonly systemDb: SystemDatabase,
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
  create(
    scope: TenantScope,
    name: string,
    scopes: Scope[],
    rateLimits: KeyRateLimits = {},
  ): Promise<CreatedKey> {
    const { key, prefix } = issueKey();
    return this.tenantDb.run(scope, async (m) => {
      const row = await m.getRepository(ApiKey).save({
        tenantId: scope.tenantId,
        name,
        prefix,
        scopes,
        rateLimits,
        keyHash: hashKey(key, this.config.apiKeySecret),
      });
      return { id: row.id, key, prefix, name, scopes, rateLimits, createdAt: row.createdAt };
    });
  }

  list(scope: TenantScope): Promise<ApiKey[]> {
    return this.tenantDb.run(scope, (m) =>
      m.getRepository(ApiKey).find({
        where: { tenantId: scope.tenantId },
        order: { createdAt: 'ASC', id: 'ASC' },
      }),
    );
  }

  /** Idempotent; the key stops working here at once and on other instances within the cache time. */
  async revoke(scope: TenantScope, keyId: string): Promise<void> {
    const rows = isUuid(keyId)
      ? await this.tenantDb.run(scope, (m) =>
          m.query<unknown[]>(REVOKE_KEY_SQL, [scope.tenantId, keyId]),
        )
      : [];
    if (rows.length === 0) {
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
    const key = isUuid(keyId)
      ? await this.tenantDb.run(scope, async (m) => {
          const rows = await m.query<unknown[]>(SET_KEY_RATE_LIMITS_SQL, [
            scope.tenantId,
            keyId,
            rateLimits,
          ]);
          return rows.length === 0
            ? null
            : m.getRepository(ApiKey).findOneByOrFail({ tenantId: scope.tenantId, id: keyId });
        })
      : null;
    if (!key) throw new DomainError(ErrorCode.NotFound, `No API key '${keyId}'.`);
    this.forgetCached();
    return key;
  }

  /**
   * Looked up by hash before the tenant is known: the one key read that spans tenants.
   * A miss goes to Postgres only within the client address's budget (KeyLookupBudget).
   */
  byKey(key: string, client: string): Promise<KeyState | null> {
    if (!isWellFormedKey(key)) return Promise.resolve(null);
    const keyHash = hashKey(key, this.config.apiKeySecret);
    return this.states.get(`hash:${keyHash}`, () =>
      this.lookupBudget.lookup(client, keyHash, async () =>
        toState(
          await this.systemDb.runAcrossTenants((m) =>
            m.query<KeyStateRow[]>(KEY_BY_HASH_SQL, [keyHash]),
          ),
        ),
      ),
    );
  }

  /** For a token: its signature already proved the tenant, so the read is scoped to it. */
  byId(scope: TenantScope, keyId: string): Promise<KeyState | null> {
    if (!isUuid(keyId)) return Promise.resolve(null);
    return this.states.get(`id:${scope.tenantId}:${keyId}`, async () =>
      toState(
        await this.tenantDb.run(scope, (m) =>
          m.query<KeyStateRow[]>(KEY_BY_ID_SQL, [scope.tenantId, keyId]),
        ),
      ),
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
    const note = this.tenantDb
      .run(tenantScope(principal.tenantId), (m) =>
        m.query(NOTE_KEY_USED_SQL, [principal.tenantId, principal.keyId]),
      )
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

function toState(rows: KeyStateRow[]): KeyState | null {
  const [row] = rows;
  return row
    ? {
        principal: {
          tenantId: row.tenant_id,
          keyId: row.id,
          scopes: row.scopes,
          rateLimits: row.rate_limits,
        },
        revoked: row.revoked,
        tenantActive: row.tenant_active,
      }
    : null;
}
