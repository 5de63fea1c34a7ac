/** The shared command connection (non-blocking commands and scripts). */
export const REDIS = Symbol('REDIS');
