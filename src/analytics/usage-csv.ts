import { stringify } from 'csv-stringify';
import { Readable } from 'node:stream';
import type { UsageAnswer, UsageRow } from './usage-answers';

const MEASURES: [string, keyof UsageRow][] = [
  ['calls', 'calls'],
  ['tokens', 'tokens'],
  ['input_tokens', 'inputTokens'],
  ['output_tokens', 'outputTokens'],
  ['avg_latency_ms', 'avgLatencyMs'],
  ['late_events', 'lateEvents'],
];
const GROUPS: Record<string, [string, keyof UsageRow]> = {
  customer: ['customer_id', 'customerId'],
  endpoint: ['endpoint', 'endpoint'],
  model: ['model', 'model'],
};

/**
 * A usage answer as CSV, written row by row into the response stream (csv-stringify does
 * the quoting, and escapes cells that a spreadsheet would run as formulas: customer ids
 * and endpoints come from producers). Columns: the bucket, the groups asked for, the
 * measures; a null measure is an empty cell.
 */
export function usageCsv(answer: UsageAnswer): Readable {
  const columns: [string, keyof UsageRow][] = [
    ['bucket_start', 'bucketStart'],
    ['bucket_end', 'bucketEnd'],
    ...answer.groupBy.map((g) => GROUPS[g]),
    ...MEASURES,
  ];
  const records = answer.data.map((row) => columns.map(([, field]) => row[field] ?? ''));
  return Readable.from(records).pipe(
    stringify({ header: true, columns: columns.map(([name]) => name), escape_formulas: true }),
  );
}
