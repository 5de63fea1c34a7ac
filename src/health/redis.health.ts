import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { isConnectionLost, isDisconnected } from '../infra/redis/connection-lost';
import { REDIS } from '../infra/redis/redis.tokens';
import { Spool } from '../infra/spool/spool';

/**
 * Whether this instance can take events, as far as Redis decides it: Redis answers
 * (`redis` up), or it cannot be reached and the spool has room (`redis` degraded: the
 * check passes, ingestion spools). Redis out of reach with the spool full or off, or a
 * Redis that fails otherwise (a stalled one times out), is `redis` down: not ready.
 * `spool` says how much waits for replay (degraded while anything does).
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly indicator: HealthIndicatorService,
    private readonly spool: Spool,
  ) {}

  /** A PING without an answer within `timeoutMs` (a stalled Redis) is down, not unreachable. */
  async check(timeoutMs: number) {
    const redis = this.indicator.check('redis');
    const problem = await this.ping(timeoutMs);
    const spool = this.spoolState();
    let result;
    if (problem === undefined) {
      result = redis.up();
    } else if (problem.unreachable && this.spool.hasRoom()) {
      result = redis.degraded({ message: problem.message, ingestion: 'spooling' });
    } else {
      const reason = !problem.unreachable ? problem.message : `${problem.message}; spool ${spool}`;
      result = redis.down({ message: reason });
    }
    if (!this.spool.enabled) return result;
    const bytes = this.spool.usedBytes();
    const details = { state: spool, bytes, maxBytes: this.spool.maxBytes };
    const session = this.indicator.check('spool');
    return { ...result, ...(bytes > 0 ? session.degraded(details) : session.up(details)) };
  }

  private async ping(
    timeoutMs: number,
  ): Promise<{ message: string; unreachable: boolean } | undefined> {
    if (isDisconnected(this.redis)) {
      return { message: `no connection (${this.redis.status})`, unreachable: true };
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.redis.ping(), late]);
      return undefined;
    } catch (error) {
      return { message: (error as Error).message, unreachable: isConnectionLost(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  private spoolState(): 'off' | 'empty' | 'holding' | 'full' {
    if (!this.spool.enabled) return 'off';
    if (!this.spool.hasRoom()) return 'full';
    return this.spool.usedBytes() > 0 ? 'holding' : 'empty';
  }
}
