import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { TicketKeys } from '../infra/redis/redis-keys';
import { REDIS } from '../infra/redis/redis.tokens';
import { AccessTokens, AUDIENCES, type Claims } from './access-tokens';
import type { Principal } from '../common/access/principal';

export interface IssuedTicket {
  ticket: string;
  expiresIn: number;
}

/**
 * Stream tickets: the credential a browser's EventSource, which cannot set headers, puts
 * in the URL of `GET /v1/stream?ticket=`. A URL ends up in places headers do not (nginx's
 * error log prints the request line, browser history), so a ticket is worth as little as
 * possible there: it opens the stream only (its own audience, `read` scope, accepted by no
 * other route), lives LIVE_TICKET_TTL_SECONDS, and is spent by its first use.
 */
@Injectable()
export class StreamTickets {
  private readonly ttlSeconds: number;
  private readonly keys: TicketKeys;

  constructor(
    private readonly tokens: AccessTokens,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ttlSeconds = config.live.ticketTtlSeconds;
    this.keys = new TicketKeys(config.redisKeyPrefix);
  }

  async issue(principal: Principal): Promise<IssuedTicket> {
    const ticket = await this.tokens.sign(
      { tenantId: principal.tenantId, keyId: principal.keyId, scopes: ['read'] },
      { audience: AUDIENCES.streamTicket, ttlSeconds: this.ttlSeconds, jti: randomUUID() },
    );
    return { ticket, expiresIn: this.ttlSeconds };
  }

  /** Verifies the ticket and spends it: a second use is refused, on any instance. */
  async redeem(ticket: string): Promise<Claims> {
    const claims = await this.tokens.claims(ticket, AUDIENCES.streamTicket, 'stream ticket');
    if (claims.jti === undefined) {
      throw new DomainError(ErrorCode.Unauthenticated, 'The stream ticket is not valid.');
    }
    const spent = await this.redis
      .set(this.keys.claimed(claims.jti), '1', 'PX', this.ttlSeconds * 1000, 'NX')
      .catch(() => {
        throw new DomainError(ErrorCode.Unavailable, 'Tickets cannot be checked; retry.', {
          retryAfterSeconds: 1,
        });
      });
    if (spent === null) {
      throw new DomainError(ErrorCode.Unauthenticated, 'The stream ticket has been used already.');
    }
    return claims;
  }
}
