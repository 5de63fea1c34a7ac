import { Injectable } from '@nestjs/common';
import type { KeyRateLimits, Principal } from '../common/access/principal';
import type { Scope } from '../common/access/scope';
import { SystemDatabase } from '../infra/database/system-database';
import { TenantDatabase } from '../infra/database/tenant-database';
import { tenantScope, type TenantScope } from '../infra/database/tenant-scope';
import { ApiKey } from './api-key.entity';
import {
  KEY_BY_HASH_SQL,
  KEY_BY_ID_SQL,
  NOTE_KEY_USED_SQL,
  REVOKE_KEY_SQL,
  SET_KEY_RATE_LIMITS_SQL,
  type KeyStateRow,
} from './api-keys.sql';

/**
 * What authentication needs to know about a key, cached for API_KEY_CACHE_SECONDS, and
 * served for up to API_KEY_STALE_SECONDS while Postgres is unreachable (docs/multi-tenancy.md).
 */
export interface KeyState {
  principal: Principal;
  revoked: boolean;
  tenantActive: boolean;
}

export interface NewKey {
  name: string;
  prefix: string;
  scopes: Scope[];
  rateLimits: KeyRateLimits;
  keyHash: string;
}

/** The api_keys table: one tenant's keys at a time, but for the lookup by hash. */
@Injectable()
export class ApiKeysRepository {
  constructor(
    private readonly tenantDb: TenantDatabase,
    private readonly systemDb: SystemDatabase,
  ) {}

  insert(scope: TenantScope, key: NewKey): Promise<ApiKey> {
    return this.tenantDb.run(scope, (m) =>
      m.getRepository(ApiKey).save({ tenantId: scope.tenantId, ...key }),
    );
  }

  list(scope: TenantScope): Promise<ApiKey[]> {
    return this.tenantDb.run(scope, (m) =>
      m.getRepository(ApiKey).find({
        where: { tenantId: scope.tenantId },
        order: { createdAt: 'ASC', id: 'ASC' },
      }),
    );
  }

  /** Whether the key exists (revoked now, or already). */
  async revoke(scope: TenantScope, keyId: string): Promise<boolean> {
    const rows = await this.tenantDb.run(scope, (m) =>
      m.query<unknown[]>(REVOKE_KEY_SQL, [scope.tenantId, keyId]),
    );
    return rows.length > 0;
  }

  /** The key with its new limits; null when there is no such key. */
  setRateLimits(
    scope: TenantScope,
    keyId: string,
    rateLimits: KeyRateLimits,
  ): Promise<ApiKey | null> {
    return this.tenantDb.run(scope, async (m) => {
      const rows = await m.query<unknown[]>(SET_KEY_RATE_LIMITS_SQL, [
        scope.tenantId,
        keyId,
        rateLimits,
      ]);
      return rows.length === 0
        ? null
        : m.getRepository(ApiKey).findOneByOrFail({ tenantId: scope.tenantId, id: keyId });
    });
  }

  /** Before the tenant is known: the one key read that spans tenants. */
  async stateByHash(keyHash: string): Promise<KeyState | null> {
    return toState(
      await this.systemDb.runAcrossTenants((m) =>
        m.query<KeyStateRow[]>(KEY_BY_HASH_SQL, [keyHash]),
      ),
    );
  }

  async stateById(scope: TenantScope, keyId: string): Promise<KeyState | null> {
    return toState(
      await this.tenantDb.run(scope, (m) =>
        m.query<KeyStateRow[]>(KEY_BY_ID_SQL, [scope.tenantId, keyId]),
      ),
    );
  }

  async noteUsed(principal: Principal): Promise<void> {
    await this.tenantDb.run(tenantScope(principal.tenantId), (m) =>
      m.query(NOTE_KEY_USED_SQL, [principal.tenantId, principal.keyId]),
    );
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
