import { SetMetadata } from '@nestjs/common';
import type { ApiKeyRateClass } from '../config/app-config';

export const RATE_CLASS_KEY = 'tally:rate-class';

/**
 * Marks a machine path (ingestion, quota checks): its calls count against the key's
 * `events` rate, one unit per event in the body, instead of the `requests` rate.
 */
export const CountsEvents = () => SetMetadata(RATE_CLASS_KEY, 'events' satisfies ApiKeyRateClass);

export const KEY_CHARGED_BY_HANDLER = 'tally:key-charged-by-handler';

/**
 * Marks a route whose handler charges the key's `events` budget itself, so the rate-limit
 * guard leaves it be: the quota check, in the same limiter call as the customer's limits;
 * ingestion, through ApiKeyRateGate, while it validates and queues the events.
 */
export const ChargesKeyInHandler = () => SetMetadata(KEY_CHARGED_BY_HANDLER, true);
