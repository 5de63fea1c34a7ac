import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { isConnectionLost, isDisconnected } from '../infra/redis/connection-lost';
import { REDIS } from '../infra/redis/redis.tokens';
import { Spool, SpoolFullError } from '../infra/spool/spool';
import { Metrics } from '../infra/metrics/metrics';
import type { MeteringEvent } from '../window-store';
import { encodeSpooled } from './spooled-request';

/**
 * Where ingestion goes when Redis cannot be reached: this instance's spool, whose
 * events are replayed through the ingest script once Redis is back (SpoolReplayer).
 * A Redis that answers slowly or not at all over a live connection is not "down": its
 * requests get a 503, since nothing says it lost them (docs/reliability/spool.md).
 */
@Injectable()
export class SpoolFallback {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly spool: Spool,
    private readonly metrics: Metrics,
  ) {}

  /** The ingest connection is down and the spool is on: spool without waiting for Redis. */
  redisUnreachable(): boolean {
    return this.spool.enabled && isDisconnected(this.redis);
  }

  /** Whether events whose script call failed this way go to the spool instead of a 503. */
  takes(error: unknown): boolean {
    return this.spool.enabled && isConnectionLost(error);
  }

  /** Resolves once the events are synced to disk; a 503 with Retry-After otherwise. */
  async store(events: MeteringEvent[], receivedAtMs: number): Promise<void> {
    try {
      await this.spool.append(encodeSpooled({ receivedAtMs, events }));
    } catch (error) {
      if (error instanceof SpoolFullError) {
        throw new DomainError(
          ErrorCode.Unavailable,
          "Redis is unreachable and this instance's spool is full; retry shortly.",
          { retryAfterSeconds: 5 },
        );
      }
      throw new DomainError(
        ErrorCode.Unavailable,
        'Redis is unreachable and the spool could not take the events; retry.',
        { retryAfterSeconds: 1 },
      );
    }
    this.metrics.spooledEvents.inc(events.length);
  }
}
