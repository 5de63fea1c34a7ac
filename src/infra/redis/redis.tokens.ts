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

/**
 * The persistence worker's connection: a slow batch must not queue behind the ingest
 * path's scripts. Connects on first use, so an APP_ROLE=api instance never opens it.
 */
export const PERSISTENCE_REDIS = Symbol('PERSISTENCE_REDIS');

/** Pub/Sub of quota definition changes (subscribing takes a connection over for good). */
export const QUOTA_CHANGES_REDIS = Symbol('QUOTA_CHANGES_REDIS');

/** Pub/Sub of analytics version changes, for the other instances' local caches. */
export const ANALYTICS_VERSIONS_REDIS = Symbol('ANALYTICS_VERSIONS_REDIS');
