import type { Ajv } from 'ajv';
import formatsModule, { type FormatName, type FormatsPlugin } from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`; under nodenext its default import is
// the module object, so the plugin sits one level down.
const plugin = (formatsModule as unknown as { default: FormatsPlugin }).default;

export function addFormats(ajv: Ajv, formats?: FormatName[]): Ajv {
  return plugin(ajv, formats);
}
