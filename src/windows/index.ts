// What other features may import from windows/ (the rest is internal; .dependency-cruiser.cjs).
export { WindowPublisher } from './window-publisher';
export type { WindowRow } from './window-view';
export { WindowsModule } from './windows.module';
