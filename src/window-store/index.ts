// What other features may import from window-store/ (the rest is internal; .dependency-cruiser.cjs).
export { lossHorizon, parseMarker } from './epoch-marker';
export type { EpochMarker, LossHorizon } from './epoch-marker';
export { EventStream } from './event-stream';
export { groupByShard, shardOf } from './shard';
export type { AggregationData, WindowCounters } from './window-hash';
export { WindowIndexes } from './window-indexes';
export type { DueWindow, RecomputeTracking } from './window-indexes';
export { isBeyondLateness, windowEndOf, windowStartOf } from './window-math';
export { WindowReads } from './window-reads';
export type { CustomerWindow, TenantOpenOptions } from './window-reads';
export { WindowStoreModule } from './window-store.module';
export { classifyIngestFailure } from './ingest-failure';
export { IngestScript, checkEvents } from './ingest-script';
export { IngestOutcome } from './metering-event';
export type { MeteringEvent } from './metering-event';
export { batchJson, readableEntries } from './stream-entry';
export type { StreamEntry, StreamedEvent } from './stream-entry';
export type { ShardEntries } from './event-stream';
