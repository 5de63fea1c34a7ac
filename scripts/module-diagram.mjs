#!/usr/bin/env node
// The mermaid diagram of src/'s modules and their imports in docs/architecture.md, from
// the code: dependency-cruiser's graph of src/, files folded into their folder. With
// --check it only compares, and fails when the checked-in diagram differs (npm run lint).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const DOC = 'docs/architecture.md';
const START = '<!-- module-diagram:start (scripts/module-diagram.mjs writes this) -->';
const END = '<!-- module-diagram:end -->';
const BASE = new Set(['common', 'config', 'infra']);

// With this process's node (the project's), whatever node the shell finds first.
const json = execFileSync(
  process.execPath,
  [
    'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs',
    'src',
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'json',
    '--no-progress',
  ],
  { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
const { modules } = JSON.parse(json);

/** src/<folder>/… → folder; src/<file>.ts (the composition root) → 'root'; else null. */
const folderOf = (path) => {
  const match = /^src\/(?:([^/]+)\/)?[^/]+$/.exec(path) ?? /^src\/([^/]+)\//.exec(path);
  if (!match) return null;
  return match[1] ?? 'root';
};

const features = new Set();
const edges = new Set();
for (const { source, dependencies } of modules) {
  if (/\.spec\.ts$/.test(source)) continue;
  const from = folderOf(source);
  if (from === null) continue;
  if (!BASE.has(from) && from !== 'root') features.add(from);
  for (const { resolved } of dependencies) {
    const to = folderOf(resolved);
    // Every folder may use the base (common, config, infra): those edges would hide the rest.
    if (to === null || to === from || BASE.has(to) || from === 'root' || BASE.has(from)) continue;
    edges.add(`${from} --> ${to}`);
  }
}

const id = (name) => name.replace(/-/g, '_');
const lines = [
  '```mermaid',
  'flowchart LR',
  ...[...features].sort().map((f) => `  ${id(f)}[${f}/]`),
  ...[...edges].sort().map((edge) => `  ${edge.split(' --> ').map(id).join(' --> ')}`),
  '```',
];
const diagram = `${START}\n\n${lines.join('\n')}\n\n${END}`;

const doc = readFileSync(DOC, 'utf8');
const at = doc.indexOf(START);
const end = doc.indexOf(END);
if (at < 0 || end < 0) throw new Error(`${DOC} has no ${START} … ${END} block`);
const updated = doc.slice(0, at) + diagram + doc.slice(end + END.length);
if (process.argv.includes('--check')) {
  if (updated !== doc) {
    console.error(
      `${DOC}: the module diagram is not the code's; run node scripts/module-diagram.mjs`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(DOC, updated);
}
