import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';

const schemas = new Map<string, object>();

/**
 * Names a schema in the document's components and answers a reference to it, so clients
 * generated from the document get a type per name rather than one per inline copy. The
 * schema object itself is the one ajv validates with, so the docs cannot drift from the
 * validation.
 */
export function namedSchema(name: string, schema: object): ReferenceObject {
  const known = schemas.get(name);
  if (known !== undefined && known !== schema) {
    throw new Error(`Two different OpenAPI schemas are named ${name}`);
  }
  schemas.set(name, schema);
  return { $ref: `#/components/schemas/${name}` };
}

/** Every schema named so far, sorted by name (the document's order stays stable). */
export function componentSchemas(): Record<string, SchemaObject> {
  return Object.fromEntries([...schemas].sort(([a], [b]) => a.localeCompare(b)));
}
