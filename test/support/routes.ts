import type { NestFastifyApplication } from '@nestjs/platform-fastify';

const LINE = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/;

/**
 * Every route the app registered, as `METHOD /path`, read from Fastify's own route tree
 * (controllers, Swagger UI, anything else), HEAD excluded (Fastify adds it to each GET).
 */
export function registeredRoutes(app: NestFastifyApplication): string[] {
  const tree = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const parents: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n').filter((l) => l.trim().length > 0)) {
    const match = LINE.exec(line);
    if (!match) throw new Error(`unexpected route tree line: ${line}`);
    const [, indent, segment, methods] = match;
    const depth = indent.length / 4;
    parents.length = depth;
    const path = `${parents.at(-1) ?? ''}${segment}`;
    parents.push(path);
    for (const method of methods?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${path}`);
    }
  }
  return routes.sort();
}
