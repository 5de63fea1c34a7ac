import { Ajv, type ErrorObject } from 'ajv';
import { addFormats } from './ajv-formats';
import { DATE_TIME_RULE } from './exact-instant';
import { DomainError, ErrorCode, FieldError } from '../errors/domain-error';
import { UNSTORABLE_MESSAGE, unstorablePaths } from './storable-text';

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false });
addFormats(ajv);
const queryAjv = new Ajv({ allErrors: true, strict: true, coerceTypes: true, useDefaults: true });
addFormats(queryAjv);

/**
 * Compiles a JSON Schema into a function that returns the typed value or throws a 400
 * problem. Every string in the value must also be one Postgres can store.
 */
export function validateBody<T>(schema: object): (value: unknown) => T {
  const validate = ajv.compile<T>(schema);
  return (value: unknown) => {
    const copy: unknown = value && typeof value === 'object' ? { ...value } : value;
    const valid = validate(copy);
    const unstorable = unstorablePaths(copy);
    if (valid && unstorable.length === 0) return copy;
    throw new DomainError(ErrorCode.ValidationFailed, 'The request is not valid.', {
      errors: firstPerPath([
        ...unstorable.map((path) => ({ path, message: UNSTORABLE_MESSAGE })),
        ...(valid ? [] : (validate.errors ?? []).map((e) => toFieldError(e))),
      ]),
    });
  };
}

/**
 * Like validateBody, after coercing query-string values and filling defaults. The
 * coerced value is then validated as it now is: ajv's coercion turns "Infinity" into a
 * number and skips the range checks of the value it made, so a coercing validator alone
 * lets `limit=Infinity` through to a query.
 */
export function validateQuery<T>(schema: object): (value: unknown) => T {
  const coerce = queryAjv.compile(schema);
  const validate = validateBody<T>(schema);
  return (value: unknown) => {
    const copy: unknown = value && typeof value === 'object' ? { ...value } : value;
    coerce(copy);
    return validate(copy);
  };
}

export function toFieldError(error: ErrorObject, base = ''): FieldError {
  const params = error.params as {
    missingProperty?: string;
    additionalProperty?: string;
    format?: string;
  };
  if (error.keyword === 'required') {
    return {
      path: `${base}${error.instancePath}/${params.missingProperty}`,
      message: 'is required',
    };
  }
  if (error.keyword === 'additionalProperties') {
    return {
      path: `${base}${error.instancePath}/${params.additionalProperty}`,
      message: 'is not a known field',
    };
  }
  if (error.keyword === 'format' && params.format === 'date-time') {
    return { path: `${base}${error.instancePath}`, message: DATE_TIME_RULE };
  }
  return { path: `${base}${error.instancePath}`, message: error.message ?? 'is invalid' };
}

/** One message per field: a value breaking two rules is still one thing to fix. */
export function firstPerPath(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.path) && seen.add(e.path));
}
