import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Maps the partitioned parent table; partitions are created by PartitionMaintainer. */
@Entity('usage_events')
export class UsageEvent {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text', { name: 'event_id' })
  eventId: string;

  @PrimaryColumn('timestamptz')
  ts: Date;

  @Column('text', { name: 'customer_id' })
  customerId: string;

  @Column('text')
  endpoint: string;

  @Column('jsonb')
  metadata: Record<string, unknown>;

  @Column('timestamptz', { name: 'received_at' })
  receivedAt: Date;
}
