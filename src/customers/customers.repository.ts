import { Injectable } from '@nestjs/common';
import { MoreThan } from 'typeorm';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { isUniqueViolation } from '../infra/database/pg-errors';
import { TenantDatabase } from '../infra/database/tenant-database';
import { assertOwned, type TenantScope } from '../infra/database/tenant-scope';
import { Customer } from './customer.entity';

export type CustomerFields = Partial<
  Pick<Customer, 'name' | 'emailEncrypted' | 'emailKeyId' | 'emailHash'>
>;

export interface CustomerPageQuery {
  limit: number;
  afterExternalId?: string;
  emailHash?: string;
}

/** Customers of one tenant at a time; the persistence worker's upsert is the only other writer. */
@Injectable()
export class CustomersRepository {
  constructor(private readonly db: TenantDatabase) {}

  async insert(scope: TenantScope, externalId: string, fields: CustomerFields): Promise<Customer> {
    try {
      return await this.db.run(scope, (m) =>
        m.getRepository(Customer).save({ tenantId: scope.tenantId, externalId, ...fields }),
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new DomainError(ErrorCode.Conflict, `Customer '${externalId}' exists already.`);
    }
  }

  find(scope: TenantScope, externalId: string): Promise<Customer | null> {
    return this.db.run(scope, (m) =>
      m.getRepository(Customer).findOneBy({ tenantId: scope.tenantId, externalId }),
    );
  }

  /** By external id, on the (tenant_id, external_id) unique index. */
  page(scope: TenantScope, query: CustomerPageQuery): Promise<Customer[]> {
    return this.db.run(scope, (m) =>
      m.getRepository(Customer).find({
        where: {
          tenantId: scope.tenantId,
          ...(query.afterExternalId === undefined
            ? {}
            : { externalId: MoreThan(query.afterExternalId) }),
          ...(query.emailHash === undefined ? {} : { emailHash: query.emailHash }),
        },
        order: { externalId: 'ASC' },
        take: query.limit,
      }),
    );
  }

  /** Null when the tenant has no such customer. */
  update(scope: TenantScope, externalId: string, fields: CustomerFields): Promise<Customer | null> {
    return this.db.run(scope, async (m) => {
      const repository = m.getRepository(Customer);
      const customer = await repository.findOneBy({ tenantId: scope.tenantId, externalId });
      if (!customer) return null;
      assertOwned(scope, customer);
      return repository.save(repository.merge(customer, fields));
    });
  }
}
