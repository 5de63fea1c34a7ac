import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { TestStack } from './support/harness';

const TIMEOUT_MS = 1000;
/** Node checks every tenth of the timeout here; the rest is room for a loaded machine. */
const MARGIN_MS = 1500;

describe('a request that does not arrive whole in time', () => {
  let stack: TestStack;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    stack = await TestStack.create({ HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
    app = await stack.start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(() => stack.dispose());

  async function open(): Promise<{
    socket: Socket;
    received: () => string;
    closed: Promise<number>;
  }> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    const started = Date.now();
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now() - started)),
    );
    return { socket, received: () => data, closed };
  }

  function parse(raw: string) {
    const [head, body] = raw.split('\r\n\r\n');
    const [status, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [
        l.slice(0, l.indexOf(':')).toLowerCase(),
        l.slice(l.indexOf(':') + 1).trim(),
      ]),
    );
    return { status, headers, body: JSON.parse(body) };
  }

  it.each([
    [
      'a body that stalls',
      'POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{',
    ],
    ['headers that stall', 'GET /health/live HTTP/1.1\r\nHost: t\r\nX-Slow: '],
  ])(
    'answers %s with a 408 problem within the timeout, then closes the connection',
    async (_, partial) => {
      const { socket, received, closed } = await open();
      socket.write(partial);
      let guard: NodeJS.Timeout | undefined;
      const elapsed = await Promise.race([
        closed,
        new Promise<number>((resolve) => {
          guard = setTimeout(() => resolve(Infinity), TIMEOUT_MS * 10);
        }),
      ]);
      clearTimeout(guard);
      socket.destroy();
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      const reply = parse(received());
      expect(reply.status).toBe('HTTP/1.1 408 Request Timeout');
      expect(reply.headers).toMatchObject({
        'content-type': 'application/problem+json',
        connection: 'close',
        'x-content-type-options': 'nosniff',
      });
      expect(reply.body).toMatchObject({
        status: 408,
        code: 'request_timeout',
        title: 'Request Timeout',
      });
    },
  );

  it('leaves an idle keep-alive connection alone: the timeout is per request', async () => {
    const { socket, received, closed } = await open();
    const get = 'GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n';
    socket.write(get);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
    socket.write(get);
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.end();
    await closed;
    expect(received().match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });
});
