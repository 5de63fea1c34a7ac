import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { loadConfig } from './config/load-config';
import { buildOpenApiDocument } from './common/openapi/document';

/**
 * Writes the OpenAPI document without Postgres, Redis or a listening server: Nest's
 * preview mode resolves the modules and their routes' metadata but instantiates no
 * provider, so nothing connects. The throwaway settings only satisfy the config's schema.
 *
 *   node dist/src/write-openapi.js <file>
 */
async function main(file: string): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: 'postgres://openapi@localhost/openapi',
    REDIS_URL: 'redis://localhost',
    ADMIN_TOKEN: 'openapi-document-only',
    API_KEY_SECRET: 'openapi-document-only'.padEnd(32, '.'),
    JWT_SECRET: 'openapi-document-only'.padEnd(32, '.'),
    ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    APP_PROFILE: 'test',
  });
  const app = await NestFactory.create(AppModule.forRoot(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  writeFileSync(file, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
}

void main(process.argv[2] ?? 'openapi/openapi.json');
