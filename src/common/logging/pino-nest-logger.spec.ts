import { asyncLocalStorage } from '@fastify/request-context';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { loadConfig } from '../../config/load-config';
import { REQUIRED_ENV } from '../../config/required-env.fixture';
import { PinoNestLogger } from './pino-nest-logger';
import { createRootLogger } from './root-logger';

class Lines implements DestinationStream {
  readonly all: Record<string, unknown>[] = [];

  write(line: string): void {
    this.all.push(JSON.parse(line) as Record<string, unknown>);
  }

  last(): Record<string, unknown> {
    return this.all[this.all.length - 1];
  }
}

describe('PinoNestLogger', () => {
  const lines = new Lines();
  const root = createRootLogger(
    loadConfig({ ...REQUIRED_ENV, LOG_LEVEL: 'debug', INSTANCE_ID: 'unit-1' }),
    lines,
  );
  const bridge = new PinoNestLogger(root);
  const logger = new Logger('Unit');

  beforeAll(() => Logger.overrideLogger(bridge));

  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('writes a context logger line as JSON with the level name, instance and context', () => {
    logger.log('started');
    expect(lines.last()).toMatchObject({
      level: 'info',
      msg: 'started',
      context: 'Unit',
      instance: 'unit-1',
      time: expect.any(String),
    });
    expect(lines.last()).not.toHaveProperty('requestId');
  });

  it('maps every Nest level onto pino, dropping what the level hides', () => {
    const before = lines.all.length;
    logger.verbose('hidden at debug');
    logger.debug('d');
    logger.warn('w');
    logger.fatal('f');
    expect(lines.all.slice(before).map((line) => line.level)).toEqual(['debug', 'warn', 'fatal']);
  });

  it('demotes Nest’s start-up inventory to debug', () => {
    new Logger('RouterExplorer').log('Mapped {/x, GET} route');
    expect(lines.last()).toMatchObject({ level: 'debug', context: 'RouterExplorer' });
  });

  it('keeps Nest’s error(message, stack) contract and object messages', () => {
    logger.error('failed', 'Error: x\n    at y');
    expect(lines.last()).toMatchObject({
      level: 'error',
      msg: 'failed',
      stack: 'Error: x\n    at y',
    });

    logger.error({ errorId: 'e-1', err: new Error('boom') }, 'unhandled error');
    expect(lines.last()).toMatchObject({
      msg: 'unhandled error',
      context: 'Unit',
      errorId: 'e-1',
      err: { type: 'Error', message: 'boom', stack: expect.stringContaining('boom') },
    });

    logger.warn(new Error('as message'));
    expect(lines.last()).toMatchObject({ msg: 'as message', err: { message: 'as message' } });

    Logger.log('static, no context', 42);
    expect(lines.last()).toMatchObject({ msg: 'static, no context', details: [42] });
    expect(lines.last()).not.toHaveProperty('context');
  });

  it('writes through the request’s own logger inside a request context', () => {
    // What createApp's request context holds: the request's logger, bound to its id.
    const requestLog = root.child({ requestId: 'req-7' });
    asyncLocalStorage.run({ log: requestLog } as never, () => logger.warn('inside'));
    expect(lines.last()).toMatchObject({ msg: 'inside', requestId: 'req-7', context: 'Unit' });

    asyncLocalStorage.run({} as never, () => logger.warn('context without a request'));
    expect(lines.last()).not.toHaveProperty('requestId');
  });

  it('never writes a credential header', () => {
    root.info({ req: { headers: { authorization: 'Bearer t', 'x-api-key': 'tly_k' } } }, 'r');
    root.info({ headers: { 'x-admin-token': 'admin', accept: '*/*' } }, 'h');
    const [withReq, withHeaders] = lines.all.slice(-2);
    expect(withReq.req).toEqual({
      headers: { authorization: '[redacted]', 'x-api-key': '[redacted]' },
    });
    expect(withHeaders.headers).toEqual({ 'x-admin-token': '[redacted]', accept: '*/*' });
  });
});
