import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { AggregationData } from '../window-store';

const bigintAsNumber = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

@Entity('aggregation_windows')
export class AggregationWindow {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { name: 'customer_id' })
  customerId: string;

  @Column('timestamptz', { name: 'window_start' })
  windowStart: Date;

  @Column('timestamptz', { name: 'window_end' })
  windowEnd: Date;

  @Column('bigint', { name: 'total_calls', transformer: bigintAsNumber })
  totalCalls: number;

  @Column('bigint', { name: 'total_tokens', transformer: bigintAsNumber })
  totalTokens: number;

  @Column('bigint', { name: 'total_input_tokens', transformer: bigintAsNumber })
  totalInputTokens: number;

  @Column('bigint', { name: 'total_output_tokens', transformer: bigintAsNumber })
  totalOutputTokens: number;

  @Column('bigint', { name: 'latency_sum_ms', transformer: bigintAsNumber })
  latencySumMs: number;

  @Column('bigint', { name: 'latency_count', transformer: bigintAsNumber })
  latencyCount: number;

  @Column('double precision', { name: 'avg_latency_ms', nullable: true })
  avgLatencyMs: number | null;

  @Column('jsonb', { name: 'aggregation_data' })
  aggregationData: AggregationData;

  @Column('bigint', { name: 'late_events', transformer: bigintAsNumber })
  lateEvents: number;

  /** The Redis hash revision this row was written from; a fencing token against stale flushes. */
  @Column('bigint', { name: 'flushed_rev', transformer: bigintAsNumber })
  flushedRev: number;

  @Column('integer')
  version: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
