import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeysService, CreatedKey } from './api-keys.service';
import { SCOPES } from './scope';
import { Tenant } from './tenant.entity';

@Injectable()
export class TenantsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /** A tenant and its first, all-scopes key, in one transaction. */
  async create(name: string): Promise<{ tenant: Tenant; apiKey: CreatedKey }> {
    return this.dataSource.transaction(async (manager) => {
      const tenant = await manager.getRepository(Tenant).save({ name, active: true });
      const apiKey = await this.apiKeys.create(manager, tenant.id, 'default', [...SCOPES]);
      return { tenant, apiKey };
    });
  }
}
