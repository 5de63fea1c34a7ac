import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import type { TenantScope } from '../infra/database/tenant-scope';
import type { Customer } from './customer.entity';
import { CustomerFields, CustomersRepository } from './customers.repository';
import { EmailCipher } from './email-cipher';

export interface NewCustomer {
  externalId: string;
  name?: string;
  email?: string;
}

export interface CustomerChanges {
  name?: string | null;
  email?: string | null;
}

export interface CustomerListQuery {
  limit: number;
  cursor?: string;
  email?: string;
}

export interface CustomerView {
  externalId: string;
  name: string | null;
  email?: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Who sees what of a customer: the email only when the caller may (admin scope). */
export interface Audience {
  seesEmail: boolean;
}

@Injectable()
export class CustomersService {
  constructor(
    private readonly customers: CustomersRepository,
    private readonly cipher: EmailCipher,
  ) {}

  async create(scope: TenantScope, input: NewCustomer, audience: Audience): Promise<CustomerView> {
    const customer = await this.customers.insert(scope, input.externalId, {
      name: input.name ?? null,
      ...this.emailFields(scope, input.externalId, input.email),
    });
    return this.view(customer, audience);
  }

  async get(scope: TenantScope, externalId: string, audience: Audience): Promise<CustomerView> {
    return this.view(found(await this.customers.find(scope, externalId), externalId), audience);
  }

  /** Sub-resources (quotas) exist only under a customer of the caller's own tenant. */
  async assertExists(scope: TenantScope, externalId: string): Promise<void> {
    found(await this.customers.find(scope, externalId), externalId);
  }

  async list(
    scope: TenantScope,
    query: CustomerListQuery,
    audience: Audience,
  ): Promise<{ data: CustomerView[]; nextCursor: string | null }> {
    const rows = await this.customers.page(scope, {
      limit: query.limit + 1,
      afterExternalId: query.cursor && decodeCursor(query.cursor, ['string'])[0],
      emailHash: query.email === undefined ? undefined : this.cipher.lookupHash(query.email),
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      data: page.map((c) => this.view(c, audience)),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.externalId]) : null,
    };
  }

  async update(
    scope: TenantScope,
    externalId: string,
    changes: CustomerChanges,
    audience: Audience,
  ): Promise<CustomerView> {
    const fields: CustomerFields = {
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...this.emailFields(scope, externalId, changes.email),
    };
    const updated = await this.customers.update(scope, externalId, fields);
    return this.view(found(updated, externalId), audience);
  }

  /** undefined: leave as is; null: remove; a string: seal it and hash it for lookup. */
  private emailFields(
    scope: TenantScope,
    externalId: string,
    email: string | null | undefined,
  ): CustomerFields {
    if (email === undefined) return {};
    if (email === null) return { emailEncrypted: null, emailKeyId: null, emailHash: null };
    const { sealed, keyId } = this.cipher.seal(
      email.trim(),
      rowIdentity(scope.tenantId, externalId),
    );
    return { emailEncrypted: sealed, emailKeyId: keyId, emailHash: this.cipher.lookupHash(email) };
  }

  private view(customer: Customer, audience: Audience): CustomerView {
    const view: CustomerView = {
      externalId: customer.externalId,
      name: customer.name,
      createdAt: customer.createdAt.toISOString(),
      updatedAt: customer.updatedAt.toISOString(),
      version: customer.version,
    };
    if (audience.seesEmail) view.email = this.email(customer);
    return view;
  }

  private email(customer: Customer): string | null {
    if (customer.emailEncrypted === null || customer.emailKeyId === null) return null;
    return this.cipher.open(
      { sealed: customer.emailEncrypted, keyId: customer.emailKeyId },
      rowIdentity(customer.tenantId, customer.externalId),
    );
  }
}

/** Bound into each ciphertext: it opens only in the row it was sealed for. */
function rowIdentity(tenantId: string, externalId: string): string {
  return `${tenantId}/${externalId}`;
}

function found(customer: Customer | null, externalId: string): Customer {
  if (!customer) throw new DomainError(ErrorCode.NotFound, `No customer '${externalId}'.`);
  return customer;
}
