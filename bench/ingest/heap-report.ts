import type { HeapFigures } from './heap-probe';

export type { HeapFigures };

export interface HeapRow {
  /** The row's first cells, already joined with ' | '. */
  label: string;
  heap: HeapFigures;
  requests: number;
  /** Events (or checks) per request: 1, or the batch size. */
  unitsPerRequest: number;
}

/**
 * The server's JS heap over a phase (heap-probe.ts): bytes allocated per request and
 * per event, and the young generation's pauses, whose count and length are what delay
 * the requests that arrive during one.
 */
export function renderHeap(rows: HeapRow[], header: string): string[] {
  const columns = header.split(' | ').length;
  return [
    'Server JS heap over the same phase (V8 GC profiler; heap-probe.ts): bytes allocated, ' +
      'young-generation (scavenge) pauses and old-generation collections:',
    '',
    `| ${header} | KB allocated per request | bytes per event | young pauses/s | young pause ms/s | longest young pause ms | old collections |`,
    `|${'---|'.repeat(columns)}---:|---:|---:|---:|---:|---:|`,
    ...rows.map(({ label, heap, requests, unitsPerRequest }) => {
      const perRequest = heap.allocatedBytes / Math.max(1, requests);
      return `| ${label} | ${(perRequest / 1024).toFixed(1)} | ${Math.round(perRequest / unitsPerRequest).toLocaleString('en-US')} | ${(heap.youngPauses / heap.seconds).toFixed(1)} | ${(heap.youngPauseMs / heap.seconds).toFixed(1)} | ${heap.youngLongestMs.toFixed(1)} | ${heap.oldPauses} |`;
    }),
  ];
}
