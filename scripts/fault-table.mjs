#!/usr/bin/env node
// Renders the fault suite's rows (written by test/support/ledger.ts reportFault into
// FAULT_REPORT_DIR, default .faults/) as the markdown table of docs/reliability.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.FAULT_REPORT_DIR ?? '.faults';
const rows = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')))
  .sort((a, b) => a.fault.localeCompare(b.fault));
const columns = [
  ['fault', (r) => r.fault],
  ['sent', (r) => r.sent],
  ['acknowledged', (r) => r.acknowledged],
  ['counted', (r) => r.counted],
  ['stored', (r) => r.stored],
  ['lost', (r) => r.lost],
  ['double-counted', (r) => r.doubleCounted],
  ['wrong windows', (r) => r.wrongWindows],
  ['5xx (not 503)', (r) => r.serverErrors],
  ['503 + Retry-After', (r) => r.unavailable],
  ['no answer', (r) => r.noAnswer],
  ['spooled', (r) => r.spooled ?? '–'],
  ['recovery (s)', (r) => (r.recoveryMs / 1000).toFixed(1)],
];
const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(line(columns.map(([name]) => name)));
console.log(line(columns.map(([,], i) => (i === 0 ? '---' : '---:'))));
for (const row of rows) console.log(line(columns.map(([, value]) => value(row))));
