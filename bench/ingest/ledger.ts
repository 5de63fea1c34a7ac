/**
 * What the servers answered, event by event. Requests carry an X-Request-Id that both
 * servers echo, so a response is matched to its events; what is still pending when
 * autocannon stops was cut off in flight and may or may not have been stored.
 */
export class Ledger {
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  /** Responses matched to a request, any status. */
  answered = 0;
  private nextId = 0;
  private readonly pending = new Map<string, string[]>();

  open(eventIds: string[]): string {
    const requestId = `bench-${this.nextId++}`;
    this.pending.set(requestId, eventIds);
    return requestId;
  }

  close(status: number, body: string, requestId: string | undefined): void {
    if (requestId === undefined) return;
    const eventIds = this.pending.get(requestId);
    if (!eventIds) return;
    this.pending.delete(requestId);
    this.answered++;
    if (status !== 202) {
      this.rejected += eventIds.length;
      return;
    }
    const reply = JSON.parse(body) as { accepted: number; duplicates: number };
    this.accepted += reply.accepted;
    this.duplicates += reply.duplicates;
  }

  /** Events of requests that never got an answer; forgets them. */
  takeUnanswered(): string[] {
    const ids = [...this.pending.values()].flat();
    this.pending.clear();
    return ids;
  }
}
