import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppModule } from './app.module';
import { Metrics } from './metrics/metrics';
import type { AppConfig, AppProfile } from './config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const LOG_LEVELS: Record<AppProfile, LogLevel[]> = {
  dev: ['log', 'warn', 'error', 'debug'],
  test: ['warn', 'error'],
  prod: ['log', 'warn', 'error'],
};

/** Builds the application (not yet listening); shared by main.ts, tests and the benchmark. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.ingest.bodyLimitBytes,
    // Honour a sane caller-supplied X-Request-Id, otherwise make one.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
  });
  adapter.getInstance().addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: LOG_LEVELS[config.profile],
  });
  observeHttp(app);
  setUpOpenApi(app);
  return app;
}

/**
 * SIGTERM: stop accepting and let in-flight requests finish, then drain the ingest
 * batches, the persistence reads and the closer, release locks and close pools.
 */
export async function shutdown(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // close() reaps idle keep-alive sockets once; a socket whose request was in flight
  // turns idle only afterwards and would hold close() until the client's keep-alive
  // timeout. Reap until the server is closed.
  const reaper = setInterval(() => fastify.server.closeIdleConnections(), 50);
  try {
    await fastify.close();
  } finally {
    clearInterval(reaper);
  }
  await app.close();
}

function observeHttp(app: NestFastifyApplication): void {
  const { httpDuration } = app.get(Metrics);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: label values must stay few.
      const route = request.routeOptions.url ?? 'unmatched';
      httpDuration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tally')
      .setDescription('Real-time API metering and aggregation. Errors are RFC 9457 problem+json.')
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
      .addBearerAuth(
        { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'POST /v1/auth/token' },
        'bearer',
      )
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Admin-Token' }, 'adminToken')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
