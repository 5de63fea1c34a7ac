/** The shared command connection (non-blocking commands and scripts). */
export const REDIS = Symbol('REDIS');

/**
 * The limiter's own connection, with no offline queue: a command it cannot write at once
 * fails at once, instead of waiting for a reconnect and charging units for a call that
 * has been answered by then (503 or fail-open).
 */
export const LIMITER_REDIS = Symbol('LIMITER_REDIS');
