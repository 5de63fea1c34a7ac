import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SCOPES } from '../common/access/scope';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import { tenantScope } from '../infra/database/tenant-scope';
import { ApiKeysService, type CreatedKey } from '../api-keys';
import { Tenant } from './tenant.entity';
import { type TenantChanges, TenantsRepository } from './tenants.repository';

export type { TenantChanges };

export interface TenantPage {
  tenants: Tenant[];
  nextCursor: string | null;
}

/** The operator's side of tenancy. */
@Injectable()
export class TenantsService {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /**
   * A tenant and its first, all-scopes key, in one transaction. The id is chosen here so
   * that the transaction can be the new tenant's own from its first statement.
   */
  async create(name: string): Promise<{ tenant: Tenant; apiKey: CreatedKey }> {
    const scope = tenantScope(randomUUID());
    return this.tenants.create(scope, name, async (tenant) => {
      const apiKey = await this.apiKeys.create(scope, 'default', [...SCOPES]);
      return { tenant, apiKey };
    });
  }

  get(id: string): Promise<Tenant> {
    return this.tenants.get(id);
  }

  /** Oldest first; the cursor is the last tenant's id, compared on (created_at, id) in SQL. */
  async list(limit: number, cursor?: string): Promise<TenantPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, ['uuid'])[0];
    const rows = await this.tenants.page(limit, after);
    const tenants = rows.slice(0, limit);
    const last = tenants.at(-1);
    return {
      tenants,
      nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
    };
  }

  /** Deactivation takes effect at once here, and on other instances within API_KEY_CACHE_SECONDS. */
  async update(id: string, changes: TenantChanges): Promise<Tenant> {
    const saved = await this.tenants.update(id, changes);
    if (changes.active !== undefined) this.apiKeys.forgetCached();
    return saved;
  }
}
