// What other features may import from live/ (the rest is internal; .dependency-cruiser.cjs).
export type { LiveEventInput } from './live-event';
export { LiveEvents } from './live-events';
export { LiveModule } from './live.module';
export { UsageFeed } from './usage-feed';
