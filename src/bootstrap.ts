import { fastifyRequestContext } from '@fastify/request-context';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { LogController } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { answerClientError, answerFrameworkError } from './common/errors/unrouted-errors';
import { allowCrossOrigin } from './common/http/cors';
import { parseJsonBodies } from './common/http/json-body';
import { buildOpenApiDocument, withExampleTimes } from './common/openapi/document';
import { addSecurityHeaders, securityHeaders } from './common/http/security-headers';
import { PinoNestLogger } from './common/logging/pino-nest-logger';
import { createRootLogger, REQUEST_ID_KEY } from './common/logging/root-logger';
import { Metrics, observeHttpDuration } from './infra/metrics/metrics';
import type { AppConfig } from './config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface AppOptions {
  /** Where the JSON log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
  /** Fields for every log line, from the active trace (src/common/tracing); none when off. */
  logFields?: () => object;
}

/** Builds the application (not yet listening); shared by main.ts, tests and the benchmark. */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = createRootLogger(config, options.logDestination, options.logFields);
  const headers = securityHeaders();
  const adapter = new FastifyAdapter({
    bodyLimit: config.ingest.bodyLimitBytes,
    // A request, headers and body, must arrive whole in time, or it is answered 408 and its
    // connection closed. Node's server must get the timeout when it is created: set
    // afterwards, as Fastify sets its own `requestTimeout`, Node 24 bounds the headers
    // but not the body. Node looks for late requests every connectionsCheckingInterval
    // (30 s by default): a tenth of the timeout, at most a second, answers near it.
    requestTimeout: config.http.requestTimeoutMs,
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.http.requestTimeoutMs / 10)),
    },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError(headers),
    trustProxy: config.http.trustedProxies?.map((n) => `${n.address}/${n.prefix}`) ?? false,
    // Honour a sane caller-supplied X-Request-Id, otherwise make one.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Each request's logger is a child bound to its id (one small child per request).
    loggerInstance: logger,
    // Fastify's two lines per request give way to logRequests' one, when asked for.
    logController: new LogController({
      requestIdLogLabel: REQUEST_ID_KEY,
      disableRequestLogging: true,
    }),
    // No Nest middleware anywhere: the request context is a Fastify hook (below).
    skipMiddie: true,
  });
  // One AsyncLocalStorage context per request, for its tenant and its logger. Not
  // nestjs-cls: its module registers a global interceptor even when told to mount
  // none, and any interceptor puts every route through Nest's RxJS pipeline
  // (docs/performance.md, "The quota check").
  void adapter.getInstance().register(fastifyRequestContext, {
    // Fastify's request logger is a pino child of `logger`, typed as its base logger.
    defaultStoreValues: (request) => ({ log: request.log as typeof logger }),
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  if (config.http.corsOrigins) allowCrossOrigin(adapter.getInstance(), config.http.corsOrigins);
  parseJsonBodies(adapter.getInstance());
  addSecurityHeaders(adapter.getInstance(), headers);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(logger),
    // The body parsers are parseJsonBodies' (above).
    bodyParser: false,
  });
  observeHttp(app);
  if (config.log.requests) logRequests(app);
  if (config.docsEnabled) setUpOpenApi(app);
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
  app.getHttpAdapter().getInstance().addHook('onResponse', observeHttpDuration(httpDuration));
}

/**
 * LOG_REQUESTS: one line per request. The path without its query string, which may hold
 * a customer's email (`GET /v1/customers?email=`); no headers, so no credentials.
 */
function logRequests(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      const query = request.url.indexOf('?');
      request.log.info(
        {
          method: request.method,
          path: query === -1 ? request.url : request.url.slice(0, query),
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    });
}

function setUpOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    patchDocumentOnRequest: (_request, _reply, document) => withExampleTimes(document, new Date()),
  });
}
