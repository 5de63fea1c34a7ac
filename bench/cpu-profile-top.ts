/**
 * node dist/bench/cpu-profile-top.js <file.cpuprofile|file.heapprofile> [top] — the frames
 * a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROFILE_DIR for the benchmarks'
 * servers) spent its samples in, by self time, and the same time by package or source
 * folder: where a hot path's time goes, as docs/performance.md quotes it. Given a sampling
 * heap profile (BENCH_HEAP_PROFILE_DIR), the same two tables by bytes allocated.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/** Per frame and per place, and in all: microseconds of a CPU profile or bytes of a heap one. */
interface Totals {
  frames: Map<string, number>;
  places: Map<string, number>;
  total: number;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile-top <file.cpuprofile|file.heapprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile | { head: HeapNode };
  const totals: Totals = { frames: new Map(), places: new Map(), total: 0 };
  let heading: string;
  if ('head' in profile) {
    const walk = (node: HeapNode) => {
      add(totals, node.callFrame, node.selfSize);
      node.children.forEach(walk);
    };
    walk(profile.head);
    heading = `${file}: ${(totals.total / 1e6).toFixed(1)} MB allocated (sampled)`;
  } else {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    let idle = 0;
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      const { callFrame } = byId.get(id)!;
      if (callFrame.functionName === '(idle)') idle += us;
      else add(totals, callFrame, us);
    });
    heading = `${file}: ${(totals.total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`;
  }
  const lines = [
    heading,
    '',
    '| self % | frame |',
    '|---:|---|',
    ...rank(totals.frames, totals.total, top),
    '',
    '| self % | package or folder |',
    '|---:|---|',
    ...rank(totals.places, totals.total, top),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function add(
  totals: Totals,
  { functionName, url, lineNumber }: ProfileNode['callFrame'],
  amount: number,
): void {
  totals.total += amount;
  const frame = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
  totals.frames.set(frame, (totals.frames.get(frame) ?? 0) + amount);
  const at = place(functionName, url);
  totals.places.set(at, (totals.places.get(at) ?? 0) + amount);
}

function rank(totals: Map<string, number>, total: number, top: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `| ${((100 * us) / total).toFixed(1)} | \`${name}\` |`);
}

function shortUrl(url: string): string {
  const at = url.lastIndexOf('node_modules/');
  if (at >= 0) return url.slice(at + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url.replace(/^file:\/\//, '');
}

/** The package (node_modules), the project folder (dist/src/…), or the V8/Node part. */
function place(functionName: string, url: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return url;
  const dist = /\/dist\/(src\/[^/]+|bench)/.exec(url);
  return dist ? dist[1] : url;
}

main();
