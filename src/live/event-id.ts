/**
 * Event ids are the ids of the tenant's history entries (Redis stream ids, `<ms>-<seq>`),
 * so they are ordered, and a resume is a range read after the client's last id.
 */
export const EVENT_ID = /^\d{1,15}-\d{1,15}$/;

/** The id before every id: a position from which everything counts as new. */
export const ORIGIN_ID = '0-0';

export function compareIds(a: string, b: string): number {
  const [am, as] = split(a);
  const [bm, bs] = split(b);
  return am === bm ? as - bs : am - bm;
}

export function isAfter(a: string, b: string): boolean {
  return compareIds(a, b) > 0;
}

function split(id: string): [number, number] {
  const dash = id.indexOf('-');
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
