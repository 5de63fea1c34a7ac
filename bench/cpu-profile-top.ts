/**
 * node dist/bench/cpu-profile-top.js <file.cpuprofile> [top] — the frames a V8 CPU
 * profile (`node --cpu-prof`, or BENCH_CPU_PROFILE_DIR for the benchmarks' servers) spent
 * its samples in, by self time, and the same time by package or source folder: where
 * a hot path's time goes, as docs/performance.md quotes it.
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

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile-top <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frames = new Map<string, number>();
  const places = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      return;
    }
    total += us;
    const frame = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    frames.set(frame, (frames.get(frame) ?? 0) + us);
    places.set(place(functionName, url), (places.get(place(functionName, url)) ?? 0) + us);
  });
  const lines = [
    `${file}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`,
    '',
    '| self % | frame |',
    '|---:|---|',
    ...rank(frames, total, top),
    '',
    '| self % | package or folder |',
    '|---:|---|',
    ...rank(places, total, top),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
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
