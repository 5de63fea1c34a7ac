import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import { isUuid } from '../common/uuid';
import { SystemDatabase } from '../infra/database/system-database';
import { TenantDatabase } from '../infra/database/tenant-database';
import { tenantScope } from '../infra/database/tenant-scope';
import { ApiKeysService, CreatedKey } from '../api-keys';
import { SCOPES } from '../common/access/scope';
import { Tenant } from './tenant.entity';

export interface TenantChanges {
  active?: boolean;
  name?: string;
}

export interface TenantPage {
  tenants: Tenant[];
  nextCursor: string | null;
}

/** The operator's side of tenancy. Reads and changes span tenants, so they go the system path. */
@Injectable()
export class TenantsService {
  constructor(
    private readonly tenantDb: TenantDatabase,
    private readonly systemDb: SystemDatabase,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /**
   * A tenant and its first, all-scopes key, in one transaction. The id is chosen here so
   * that the transaction can be the new tenant's own from its first statement.
   */
  async create(name: string): Promise<{ tenant: Tenant; apiKey: CreatedKey }> {
    const scope = tenantScope(randomUUID());
    return this.tenantDb.run(scope, async (m) => {
      const tenant = await m.getRepository(Tenant).save({ id: scope.tenantId, name, active: true });
      const apiKey = await this.apiKeys.create(scope, 'default', [...SCOPES]);
      return { tenant, apiKey };
    });
  }

  get(id: string): Promise<Tenant> {
    return this.systemDb.runAcrossTenants((m) => find(m, id));
  }

  /** Oldest first; the cursor is the last tenant's id, compared on (created_at, id) in SQL. */
  async list(limit: number, cursor?: string): Promise<TenantPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, ['uuid'])[0];
    const rows = await this.systemDb.runAcrossTenants((m) => {
      const query = m.getRepository(Tenant).createQueryBuilder('t');
      if (after !== undefined) {
        query.where(
          '(t.created_at, t.id) > (SELECT a.created_at, a.id FROM tenants a WHERE a.id = :after)',
          { after },
        );
      }
      return query
        .orderBy('t.created_at')
        .addOrderBy('t.id')
        .take(limit + 1)
        .getMany();
    });
    const tenants = rows.slice(0, limit);
    const last = tenants.at(-1);
    return {
      tenants,
      nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
    };
  }

  /** Deactivation takes effect at once here, and on other instances within API_KEY_CACHE_SECONDS. */
  async update(id: string, changes: TenantChanges): Promise<Tenant> {
    const saved = await this.systemDb.runAcrossTenants(async (m) =>
      m.getRepository(Tenant).save(m.getRepository(Tenant).merge(await find(m, id), changes)),
    );
    if (changes.active !== undefined) this.apiKeys.forgetCached();
    return saved;
  }
}

async function find(m: EntityManager, id: string): Promise<Tenant> {
  const tenant = isUuid(id) ? await m.getRepository(Tenant).findOneBy({ id }) : null;
  if (!tenant) throw new DomainError(ErrorCode.NotFound, `No tenant '${id}'.`);
  return tenant;
}
