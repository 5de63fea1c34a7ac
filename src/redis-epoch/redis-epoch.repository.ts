import { Injectable } from '@nestjs/common';
import { SystemDatabase } from '../infra/database/system-database';
import {
  CHANGE_EPOCH_SQL,
  CURRENT_EPOCH_SQL,
  EPOCH_LOCK_KEY,
  MARK_RECOVERED_SQL,
  RECORD_FIRST_EPOCH_SQL,
  WINDOWS_TO_RECOVER_SQL,
} from './redis-epoch.sql';
import type { EpochMarker, LossHorizon } from '../window-store';

/** The redis_epoch row: the epoch Postgres last recorded and the recovery's progress. */
export interface EpochRecord {
  epochId: string;
  startedAtMs: number;
  losses: number;
  /** null until the first loss. */
  ownedBeforeMs: number | null;
  recoverFromMs: number | null;
  recoveryRequested: number;
  recoveryDone: number;
}

export interface WindowToRecover {
  tenantId: string;
  customerId: string;
  windowStartMs: number;
}

/**
 * redis_epoch is no tenant's data: every statement goes the system path. The recovery's
 * scan for windows reads every tenant's raw events and windows too.
 */
@Injectable()
export class RedisEpochRepository {
  constructor(private readonly systemDb: SystemDatabase) {}

  async current(): Promise<EpochRecord | undefined> {
    const [row] = await this.systemDb.runAcrossTenants((m) =>
      m.query<EpochRecord[]>(CURRENT_EPOCH_SQL),
    );
    return row;
  }

  async recordFirst(epochId: string, startedAtMs: number): Promise<void> {
    await this.systemDb.runAcrossTenants((m) =>
      m.query(RECORD_FIRST_EPOCH_SQL, [epochId, startedAtMs]),
    );
  }

  /** The new row, or undefined if `lostId` is no longer the recorded epoch (someone else moved it). */
  async change(
    lostId: string,
    next: EpochMarker,
    horizon: LossHorizon,
  ): Promise<EpochRecord | undefined> {
    return this.systemDb.runAcrossTenants(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [EPOCH_LOCK_KEY]);
      const [rows] = await m.query<[EpochRecord[], number]>(CHANGE_EPOCH_SQL, [
        lostId,
        next.id,
        next.startedAtMs,
        horizon.ownedBeforeMs,
        horizon.recoverFromMs,
      ]);
      return rows[0];
    });
  }

  async markRecovered(record: EpochRecord, windows: number): Promise<boolean> {
    const [rows] = await this.systemDb.runAcrossTenants((m) =>
      m.query<[EpochRecord[], number]>(MARK_RECOVERED_SQL, [
        record.epochId,
        record.recoveryRequested,
        windows,
      ]),
    );
    return rows.length > 0;
  }

  async windowsToRecover(
    fromMs: number,
    toMs: number,
    windowMs: number,
  ): Promise<WindowToRecover[]> {
    return this.systemDb.runAcrossTenants((m) =>
      m.query<WindowToRecover[]>(WINDOWS_TO_RECOVER_SQL, [fromMs, toMs, windowMs]),
    );
  }
}
