/** Wall-clock time in epoch milliseconds, injected so that tests can move it by hand. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => Date.now() };
