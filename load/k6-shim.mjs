// Lets Node import the k6 scripts: `k6` and `k6/http` resolve to the stand-ins given here.
import { registerHooks } from 'node:module';

const SHIMS = {
  k6: 'export const check = globalThis.__k6.check; export function sleep() {}',
  'k6/http': 'export default globalThis.__k6.http;',
};

/** `k6`: { check, http }; the scripts see them as k6's own. */
export function installK6Shim(k6) {
  globalThis.__k6 = k6;
  registerHooks({
    resolve: (specifier, context, next) =>
      specifier in SHIMS
        ? { url: `k6shim:${specifier}`, shortCircuit: true }
        : next(specifier, context),
    load: (url, context, next) =>
      url.startsWith('k6shim:')
        ? { format: 'module', source: SHIMS[url.slice('k6shim:'.length)], shortCircuit: true }
        : next(url, context),
  });
}
