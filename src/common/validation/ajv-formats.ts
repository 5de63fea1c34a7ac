import type { Ajv } from 'ajv';
import formatsModule, { type FormatName, type FormatsPlugin } from 'ajv-formats';
import { isExactInstant } from './exact-instant';

// ajv-formats is CommonJS with `exports.default`; under nodenext its default import is
// the module object, so the plugin sits one level down.
const plugin = (formatsModule as unknown as { default: FormatsPlugin }).default;

/**
 * ajv-formats' formats, with `date-time` replaced on every instance: theirs admits
 * leap seconds and years 0000 and beyond 9999, which have no instant the engine can
 * count or Postgres store (`Date.parse` gives NaN for some of them).
 */
export function addFormats(ajv: Ajv, formats?: FormatName[]): Ajv {
  plugin(ajv, formats);
  return ajv.addFormat('date-time', { type: 'string', validate: isExactInstant });
}
