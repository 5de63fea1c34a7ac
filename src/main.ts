import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createRootLogger } from './common/logging/root-logger';
import type { AppConfig } from './config/app-config';
import { ConfigError } from './config/env-parsers';
import { loadConfig } from './config/load-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  // Before the app (and node:http) is loaded, so that the HTTP instrumentation sees it.
  const tracing = config.tracing
    ? (await import('./common/tracing/tracing.js')).startTracing(config.tracing)
    : null;
  if (config.profile !== 'prod') await prepareLocalServicesOrExit(config);
  const { createApp, shutdown } = await import('./bootstrap.js');
  const app = await createApp(config, { logFields: tracing?.logFields });
  await app.listen({ port: config.port, host: config.host });
  const logger = new Logger('Main');
  logger.log(`listening on ${config.host}:${config.port} as ${config.instanceId} (${config.role})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining`);
    setTimeout(() => {
      logger.error(`shutdown exceeded ${config.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    shutdown(app)
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error: Error) => {
          logger.error(`shutdown failed: ${error.message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * The first run on a developer's machine (src/first-run): loaded only outside prod, so the
 * production start never carries it, and never creates a database behind an operator's back.
 */
async function prepareLocalServicesOrExit(config: AppConfig): Promise<void> {
  const { prepareLocalServices } = await import('./first-run/local-services.js');
  const { FirstRunError } = await import('./first-run/first-run-error.js');
  try {
    await prepareLocalServices(config, createRootLogger(config));
  } catch (error) {
    if (!(error instanceof FirstRunError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

void main();
