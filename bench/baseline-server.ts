import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { envSchema } from '../src/config/env.schema';
import { httpDurationHistogram, observeHttpDuration } from '../src/infra/metrics/metrics';

/**
 * The ceiling the service is compared with: bare Fastify doing what every ingest
 * request must do anyway (accept the connection, parse the same JSON with the same body
 * limit, echo the request id, answer 202) and nothing the service adds. Its own latency
 * is on /metrics under the service's histogram name and buckets, so the benchmark reads
 * both the same way.
 */
const app = Fastify({ bodyLimit: envSchema.properties.INGEST_BODY_LIMIT_BYTES.default });
const registry = new Registry();

app.post('/v1/events', async (request, reply) => {
  const accepted = Array.isArray(request.body) ? request.body.length : 1;
  const requestId = request.headers['x-request-id'];
  if (typeof requestId === 'string') void reply.header('X-Request-Id', requestId);
  return reply.code(202).send({ accepted, duplicates: 0 });
});

/**
 * With BASELINE_REDIS_URL: the floor of any exact quota check, a round trip to Redis per
 * request and nothing else (one script counting into one of the customer's hashes, on
 * an auto-pipelined connection like the limiter's; no auth, no limits, no Nest).
 */
const redisUrl = process.env.BASELINE_REDIS_URL;
if (redisUrl) {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true }) as Redis & {
    count(key: string, units: number): Promise<number>;
  };
  redis.defineCommand('count', {
    numberOfKeys: 1,
    lua: "return redis.call('HINCRBY', KEYS[1], 'units', ARGV[1])",
  });
  const prefix = process.env.BASELINE_REDIS_PREFIX ?? 'baseline:';
  app.post('/v1/redis-round-trip', async (request) => {
    const { customerId, units } = request.body as { customerId: string; units: number };
    return { used: await redis.count(`${prefix}${customerId}`, units) };
  });
}

app.get('/metrics', async (_request, reply) =>
  reply.type(registry.contentType).send(await registry.metrics()),
);

app.addHook('onResponse', observeHttpDuration(httpDurationHistogram(registry)));

const port = Number(process.env.PORT);
app.listen({ port, host: '127.0.0.1' }).catch((error: Error) => {
  process.stderr.write(`baseline failed to start: ${error.message}\n`);
  process.exit(1);
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
