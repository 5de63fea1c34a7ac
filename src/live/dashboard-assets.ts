import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** The page's own files, beside this file (the build copies them into dist/). */
const PAGE_DIR = join(__dirname, 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Every file the page may load, by the name it is served under: the page's own, and the
 * chart library from its npm package (uPlot: a 50 KB script with no dependencies).
 */
const SOURCES: Record<string, string> = {
  'index.html': join(PAGE_DIR, 'index.html'),
  'dashboard.css': join(PAGE_DIR, 'dashboard.css'),
  'app.js': join(PAGE_DIR, 'app.js'),
  'api.js': join(PAGE_DIR, 'api.js'),
  'live-state.js': join(PAGE_DIR, 'live-state.js'),
  'stream.js': join(PAGE_DIR, 'stream.js'),
  'view.js': join(PAGE_DIR, 'view.js'),
  'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

/** Read once at start: a missing file fails the start, not a visitor's page load. */
export class DashboardAssets {
  private readonly assets = new Map<string, Asset>();

  constructor() {
    for (const [name, path] of Object.entries(SOURCES)) {
      const body = readFileSync(path);
      const extension = name.slice(name.lastIndexOf('.'));
      this.assets.set(name, {
        body,
        contentType: TYPES[extension],
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      });
    }
  }

  get(name: string): Asset | undefined {
    return this.assets.get(name);
  }
}
