import type { CpuShares } from './cpu';
import type { Ledger } from './ledger';
import type { EventTable } from './stores';

export interface Persistence {
  scenario: string;
  /** Undefined when the backlog was still there at the cap. */
  drainSeconds: number | undefined;
  drainCpu: CpuShares;
  accepted: number;
  duplicates: number;
  rejected: number;
  unanswered: number;
  unansweredStored: number;
  /** Rows of this run already in Postgres when the load stopped. */
  storedAtStop: number;
  /** Stream entries (micro-batches) waiting when the load stopped: what STREAM_HIGH_WATER limits. */
  entriesAtStop: number;
  rows: number;
  consistent: boolean;
}

/**
 * Reconciles Postgres with what the service acknowledged, cumulatively over the runs:
 * the rows must be exactly the events answered 202 plus whichever events of cut-off
 * requests made it in. A missing row is a lost event; an extra one, a phantom.
 */
export class Books {
  private accepted = 0;
  private rows = 0;
  private unansweredStored = 0;
  private readonly unanswered: string[] = [];

  constructor(private readonly table: EventTable) {}

  async reconcile(
    scenario: string,
    drain: {
      seconds: number | undefined;
      cpu: CpuShares;
      rowsAtStop: number;
      entriesAtStop: number;
    },
    ledger: Ledger,
  ): Promise<Persistence> {
    const unanswered = ledger.takeUnanswered();
    for (const id of unanswered) this.unanswered.push(id);
    this.accepted += ledger.accepted;
    const snapshot = await this.table.snapshot(this.unanswered);
    const result: Persistence = {
      scenario,
      drainSeconds: drain.seconds,
      drainCpu: drain.cpu,
      accepted: ledger.accepted,
      duplicates: ledger.duplicates,
      rejected: ledger.rejected,
      unanswered: unanswered.length,
      unansweredStored: snapshot.ofIds - this.unansweredStored,
      storedAtStop: drain.rowsAtStop - this.rows,
      entriesAtStop: drain.entriesAtStop,
      rows: snapshot.total - this.rows,
      consistent: ledger.duplicates === 0 && snapshot.total - snapshot.ofIds === this.accepted,
    };
    this.rows = snapshot.total;
    this.unansweredStored = snapshot.ofIds;
    return result;
  }
}
