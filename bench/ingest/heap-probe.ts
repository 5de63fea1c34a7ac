/**
 * Preloaded into a server under test (`node --require …/heap-probe.js`): answers the
 * benchmark over the IPC channel with what V8's GC profiler saw between `start` and
 * `stop` — bytes allocated on the JS heap and the pauses of each GC kind. Allocation is
 * read from heap statistics: the used heap grows by exactly what is allocated between
 * two collections, so the sum of those growths (before each GC minus after the one
 * before) is every byte allocated in the phase.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { GCProfiler, getHeapStatistics } from 'node:v8';

export interface HeapFigures {
  seconds: number;
  allocatedBytes: number;
  /** Scavenges (and minor mark-sweeps): the young generation's stop-the-world pauses. */
  youngPauses: number;
  youngPauseMs: number;
  youngLongestMs: number;
  oldPauses: number;
  oldPauseMs: number;
}

const YOUNG = new Set(['Scavenge', 'MinorMarkSweep', 'MinorMarkCompact']);

let session: { profiler: GCProfiler; usedAtStart: number; startedAt: number } | undefined;

function stop(): HeapFigures {
  if (!session) throw new Error('heap probe: stop without start');
  const { profiler, usedAtStart, startedAt } = session;
  session = undefined;
  const usedAtStop = getHeapStatistics().used_heap_size;
  const figures: HeapFigures = {
    seconds: (performance.now() - startedAt) / 1000,
    allocatedBytes: 0,
    youngPauses: 0,
    youngPauseMs: 0,
    youngLongestMs: 0,
    oldPauses: 0,
    oldPauseMs: 0,
  };
  let usedAfterLast = usedAtStart;
  for (const gc of profiler.stop()?.statistics ?? []) {
    figures.allocatedBytes += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - usedAfterLast);
    usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize;
    const ms = gc.cost / 1000;
    if (YOUNG.has(gc.gcType)) {
      figures.youngPauses++;
      figures.youngPauseMs += ms;
      figures.youngLongestMs = Math.max(figures.youngLongestMs, ms);
    } else {
      figures.oldPauses++;
      figures.oldPauseMs += ms;
    }
  }
  figures.allocatedBytes += Math.max(0, usedAtStop - usedAfterLast);
  return figures;
}

/**
 * BENCH_HEAP_PROFILE_DIR: V8's sampling heap profiler runs over the same phase, keeping
 * the samples of objects the GC has since collected (a request's garbage is what costs),
 * and writes `<pid>-<time>.heapprofile` there (summarise with cpu-profile-top.js).
 */
const sampler = process.env.BENCH_HEAP_PROFILE_DIR ? new Session() : undefined;

async function startSampling(): Promise<void> {
  if (!sampler) return;
  sampler.connect();
  await sampler.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

async function stopSampling(): Promise<void> {
  if (!sampler) return;
  const { profile } = await sampler.post('HeapProfiler.stopSampling');
  sampler.disconnect();
  const file = join(
    process.env.BENCH_HEAP_PROFILE_DIR!,
    `${process.pid}-${Date.now()}.heapprofile`,
  );
  writeFileSync(file, JSON.stringify(profile));
}

if (process.send) {
  process.on('message', (message: unknown) => {
    if (message === 'heap:start') {
      void startSampling().then(() => begin());
    } else if (message === 'heap:stop') {
      const figures = stop();
      void stopSampling().then(() => process.send!({ heap: figures }));
    }
  });
  // The channel must not keep a server alive that is told to stop.
  process.channel?.unref();
}

function begin(): void {
  const profiler = new GCProfiler();
  profiler.start();
  const usedAtStart = getHeapStatistics().used_heap_size;
  session = { profiler, usedAtStart, startedAt: performance.now() };
  process.send!({ heap: 'started' });
}
