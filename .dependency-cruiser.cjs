/**
 * The module boundaries of src/, checked by `npm run lint` (docs/architecture.md).
 *
 * - common/, config/ and infra/ are the base: they import no feature.
 * - A feature is any other folder of src/. It imports another feature only through that
 *   feature's index.ts, which lists what the others may use; the rest is its own.
 * - The composition root (src/*.ts: app.module, entities, main, bootstrap, the entry points:
 *   the CLI data source, the OpenAPI writer) wires features together and may import any of them.
 * - No import cycle, type-only imports included.
 */
const BASE = '^src/(common|config|infra)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and the parts impossible to read apart.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'base-imports-no-feature',
      severity: 'error',
      comment: 'common/, config/ and infra/ serve every feature and know none of them.',
      from: { path: BASE },
      to: { path: '^src/', pathNot: BASE },
    },
    {
      name: 'feature-public-api-only',
      severity: 'error',
      comment:
        'Another feature is reached through its index.ts only (its module, services and ' +
        'types); its other files are internals it may change.',
      from: { path: '^src/([^/]+)/', pathNot: [BASE, '\\.spec\\.ts$'] },
      to: {
        path: '^src/[^/]+/',
        pathNot: ['^src/$1/', BASE, '^src/[^/]+/index\\.ts$'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/live/dashboard/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
