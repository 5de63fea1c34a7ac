import type { ApiResponseOptions } from '@nestjs/swagger';

type SchemaObject = NonNullable<Extract<ApiResponseOptions, { schema?: unknown }>['schema']>;

/**
 * The JSON Schemas that ajv validates with are also the OpenAPI schemas, so the docs
 * cannot drift from the validation; this only widens their `as const` types.
 */
export function openApi(schema: SchemaObject | object): SchemaObject {
  return schema;
}
