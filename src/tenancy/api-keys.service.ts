import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { ApiKey } from './api-key.entity';
import { hashKey, isWellFormedKey, issueKey } from './api-key-codec';
import type { Principal } from './principal';
import type { Scope } from './scope';
import { Tenant } from './tenant.entity';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: Scope[];
}

interface CacheEntry {
  principal: Principal | null;
  expiresAt: number;
}

@Injectable()
export class ApiKeysService {
  /** Short-lived cache of key hash to principal (or to "unknown"), so auth is not a query per request. */
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates a key inside the caller's transaction; the plaintext is returned once, never stored. */
  async create(
    manager: EntityManager,
    tenantId: string,
    name: string,
    scopes: Scope[],
  ): Promise<CreatedKey> {
    const { key, prefix } = issueKey();
    const row = await manager.getRepository(ApiKey).save({
      tenantId,
      name,
      prefix,
      scopes,
      keyHash: hashKey(key, this.config.apiKeySecret),
    });
    return { id: row.id, key, prefix, scopes };
  }

  async authenticate(key: string): Promise<Principal | null> {
    if (!isWellFormedKey(key)) return null;
    const keyHash = hashKey(key, this.config.apiKeySecret);
    const now = Date.now();
    const cached = this.cache.get(keyHash);
    if (cached && cached.expiresAt > now) return cached.principal;
    const row = await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .innerJoin(Tenant, 't', 't.id = k.tenant_id')
      .where('k.key_hash = :keyHash', { keyHash })
      .andWhere('k.revoked_at IS NULL')
      .andWhere('t.active')
      .getOne();
    const principal = row ? { tenantId: row.tenantId, keyId: row.id, scopes: row.scopes } : null;
    if (this.config.apiKeyCacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(keyHash, { principal, expiresAt: now + this.config.apiKeyCacheMs });
    }
    return principal;
  }
}
