import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';

@Entity('customers')
export class Customer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { name: 'external_id' })
  externalId: string;

  @Column('text', { nullable: true })
  name: string | null;

  @Column('bytea', { name: 'email_encrypted', nullable: true })
  emailEncrypted: Buffer | null;

  @Column('text', { name: 'email_key_id', nullable: true })
  emailKeyId: string | null;

  @Column('text', { name: 'email_hash', nullable: true })
  emailHash: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @VersionColumn()
  version: number;
}
