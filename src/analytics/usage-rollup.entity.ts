import { Column, Entity, PrimaryColumn } from 'typeorm';

const bigintAsNumber = {
  to: (value: number) => value,
  from: (value: string) => Number(value),
};

export type RollupGrain = 'hour' | 'day';

/**
 * A customer's totals over one UTC hour or day: the sum of its windows starting there,
 * kept by the triggers of migration UsageRollups (never written by application code).
 */
@Entity('usage_rollups')
export class UsageRollup {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text')
  grain: RollupGrain;

  @PrimaryColumn('timestamptz', { name: 'bucket_start' })
  bucketStart: Date;

  @PrimaryColumn('text', { name: 'customer_id' })
  customerId: string;

  @Column('bigint', { transformer: bigintAsNumber })
  calls: number;

  @Column('bigint', { transformer: bigintAsNumber })
  tokens: number;

  @Column('bigint', { name: 'input_tokens', transformer: bigintAsNumber })
  inputTokens: number;

  @Column('bigint', { name: 'output_tokens', transformer: bigintAsNumber })
  outputTokens: number;

  @Column('bigint', { name: 'latency_sum_ms', transformer: bigintAsNumber })
  latencySumMs: number;

  @Column('bigint', { name: 'latency_count', transformer: bigintAsNumber })
  latencyCount: number;

  @Column('bigint', { name: 'late_events', transformer: bigintAsNumber })
  lateEvents: number;
}

/** Calls and tokens of one customer for one endpoint or model over a UTC hour or day. */
@Entity('usage_rollup_breakdowns')
export class UsageRollupBreakdown {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text')
  grain: RollupGrain;

  @PrimaryColumn('text')
  dimension: 'endpoint' | 'model';

  @PrimaryColumn('timestamptz', { name: 'bucket_start' })
  bucketStart: Date;

  @PrimaryColumn('text', { name: 'customer_id' })
  customerId: string;

  @PrimaryColumn('text')
  name: string;

  @Column('bigint', { transformer: bigintAsNumber })
  calls: number;

  @Column('bigint', { transformer: bigintAsNumber })
  tokens: number;
}
