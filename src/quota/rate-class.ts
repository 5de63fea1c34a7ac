import { SetMetadata } from '@nestjs/common';
import type { ApiKeyRateClass } from '../config/app-config';

export const RATE_CLASS_KEY = 'tally:rate-class';

/**
 * Marks a machine path (ingestion, quota checks): its calls count against the key's
 * `events` rate, one unit per event in the body, instead of the `requests` rate.
 */
export const CountsEvents = () => SetMetadata(RATE_CLASS_KEY, 'events' satisfies ApiKeyRateClass);
