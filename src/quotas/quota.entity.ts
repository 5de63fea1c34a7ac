import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Algorithm } from '../rate-limits';
import type { Metric } from './metric';

/** One limit: a customer (or, with no customer, the tenant's default) on one metric and period. */
@Entity('quotas')
export class Quota {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  /** The customer's external id, as events carry it; null for the tenant-wide default. */
  @Column('text', { name: 'customer_id', nullable: true })
  customerId: string | null;

  @Column('text')
  metric: Metric;

  /** bigint in Postgres; limits stay below 2^53, so a JS number holds them exactly. */
  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  limit: number;

  @Column('integer', { name: 'period_seconds' })
  periodSeconds: number;

  @Column('text')
  algorithm: Algorithm;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
