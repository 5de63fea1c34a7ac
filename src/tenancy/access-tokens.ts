import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { isUuid } from '../common/uuid';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { Principal } from './principal';
import { type Scope, SCOPES } from './scope';

/** Pinned: the header's `alg` is never trusted, so `none`, RS256 or HS512 tokens fail. */
const ALGORITHM = 'HS256';
const ISSUER = 'tally';
const AUDIENCE = 'tally-api';

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/**
 * Short-lived JWTs for a key: `sub` the key id, `tid` the tenant, `scp` the scopes. A
 * token proves who signed it and until when; whether its key is still live and its
 * tenant still active is checked on every use (Authenticator).
 */
@Injectable()
export class AccessTokens {
  private readonly secret: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.secret = new TextEncoder().encode(config.jwt.secret);
    this.ttlSeconds = config.jwt.ttlSeconds;
  }

  async issue(principal: Principal): Promise<IssuedToken> {
    const accessToken = await new SignJWT({ tid: principal.tenantId, scp: principal.scopes })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(principal.keyId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
    return { accessToken, tokenType: 'Bearer', expiresIn: this.ttlSeconds };
  }

  /** What the token claims; its key's current state (rate limits) comes from the key. */
  async verify(token: string): Promise<Omit<Principal, 'rateLimits'>> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      const detail =
        error instanceof errors.JWTExpired
          ? 'The access token has expired.'
          : 'The access token is not valid.';
      throw new DomainError(ErrorCode.Unauthenticated, detail);
    }
    const { sub, tid, scp } = payload;
    if (
      typeof sub !== 'string' ||
      !isUuid(sub) ||
      typeof tid !== 'string' ||
      !isUuid(tid) ||
      !Array.isArray(scp) ||
      !scp.every((s) => SCOPES.includes(s as Scope))
    ) {
      // Signed by us, so this is a token of another version of the service, not an attack.
      throw new DomainError(ErrorCode.Unauthenticated, 'The access token is not valid.');
    }
    return { tenantId: tid, keyId: sub, scopes: scp as Scope[] };
  }
}
