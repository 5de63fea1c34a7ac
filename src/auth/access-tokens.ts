import { Inject, Injectable } from '@nestjs/common';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { isUuid } from '../common/uuid';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { Principal } from '../common/access/principal';
import { type Scope, SCOPES } from '../common/access/scope';

/** Pinned: the header's `alg` is never trusted, so `none`, RS256 or HS512 tokens fail. */
const ALGORITHM = 'HS256';
const ISSUER = 'tally';

/**
 * What a signed credential is for. Each kind is verified only as itself, so a stream
 * ticket (which travels in a URL) is never accepted as a bearer token, nor the reverse.
 */
export const AUDIENCES = { access: 'tally-api', streamTicket: 'tally-stream' } as const;
export type Audience = (typeof AUDIENCES)[keyof typeof AUDIENCES];

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

/** What a verified credential claims; the key's current state comes from the key. */
export interface Claims extends Omit<Principal, 'rateLimits'> {
  /** The credential's own id (stream tickets carry one, to be spent once). */
  jti?: string;
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
    const accessToken = await this.sign(principal, {
      audience: AUDIENCES.access,
      ttlSeconds: this.ttlSeconds,
    });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.ttlSeconds };
  }

  /** What the token claims; its key's current state (rate limits) comes from the key. */
  verify(token: string): Promise<Claims> {
    return this.claims(token, AUDIENCES.access, 'access token');
  }

  sign(
    principal: Omit<Principal, 'rateLimits'>,
    { audience, ttlSeconds, jti }: { audience: Audience; ttlSeconds: number; jti?: string },
  ): Promise<string> {
    const jwt = new SignJWT({ tid: principal.tenantId, scp: principal.scopes })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(principal.keyId)
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`);
    if (jti !== undefined) jwt.setJti(jti);
    return jwt.sign(this.secret);
  }

  /** `noun` names the credential in the 401's detail ("The access token has expired."). */
  async claims(token: string, audience: Audience, noun: string): Promise<Claims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      const detail =
        error instanceof errors.JWTExpired
          ? `The ${noun} has expired.`
          : `The ${noun} is not valid.`;
      throw new DomainError(ErrorCode.Unauthenticated, detail);
    }
    const { sub, tid, scp, jti } = payload;
    if (
      typeof sub !== 'string' ||
      !isUuid(sub) ||
      typeof tid !== 'string' ||
      !isUuid(tid) ||
      !Array.isArray(scp) ||
      !scp.every((s) => SCOPES.includes(s as Scope)) ||
      (jti !== undefined && typeof jti !== 'string')
    ) {
      // Signed by us, so this is a token of another version of the service, not an attack.
      throw new DomainError(ErrorCode.Unauthenticated, `The ${noun} is not valid.`);
    }
    return { tenantId: tid, keyId: sub, scopes: scp as Scope[], ...(jti ? { jti } : {}) };
  }
}
