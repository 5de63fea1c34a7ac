/** The shared command connection (non-blocking commands and scripts). */
export const REDIS = Symbol('REDIS');

/**
 * The limiter's own connection, with no offline queue: a command it cannot write at once
 * fails at once, instead of waiting for a reconnect and charging units for a call that
 * has been answered by then (503 or fail-open).
 */
export const LIMITER_REDIS = Symbol('LIMITER_REDIS');

/**
 * The live stream's Pub/Sub connection (a subscribed connection takes no other commands):
 * one per instance, whatever the number of streams it serves. Connects on first use.
 */
export const SUBSCRIBER_REDIS = Symbol('SUBSCRIBER_REDIS');
