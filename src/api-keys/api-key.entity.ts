import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { KeyRateLimits } from '../common/access/principal';
import type { Scope } from '../common/access/scope';

@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  name: string;

  @Column('text')
  prefix: string;

  /** HMAC-SHA-256 of the whole key under API_KEY_SECRET; the key itself is never stored. */
  @Column('text', { name: 'key_hash' })
  keyHash: string;

  @Column('text', { array: true })
  scopes: Scope[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  /** Overrides of API_KEY_RATE_* per class; a class not named keeps the default. */
  @Column('jsonb', { name: 'rate_limits', default: {} })
  rateLimits: KeyRateLimits;
}
