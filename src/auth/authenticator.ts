import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { tenantScope } from '../infra/database/tenant-scope';
import { AccessTokens, type Claims } from './access-tokens';
import { ApiKeysService, type KeyState } from '../api-keys';
import type { Credential } from './credentials';
import type { Principal } from '../common/access/principal';
import { StreamTickets } from './stream-tickets';

/**
 * Turns a credential into the principal it stands for, or says why not: 401 for an
 * unknown or revoked key and for a bad token, 403 for a deactivated tenant. A token is
 * only as good as its key: it dies with the key's revocation or the tenant's deactivation.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly tokens: AccessTokens,
    private readonly tickets: StreamTickets,
  ) {}

  /** `client`: the caller's address, which unknown keys are counted against. */
  async authenticate(credential: Credential, client: string): Promise<Principal> {
    switch (credential.kind) {
      case 'apiKey': {
        const state = await this.keys.byKey(credential.key, client);
        if (!state) throw new DomainError(ErrorCode.Unauthenticated, 'The API key is unknown.');
        return live(state, 'The API key has been revoked.').principal;
      }
      case 'token':
        return this.ofKey(await this.tokens.verify(credential.token), 'token');
      case 'ticket':
        return this.ofKey(await this.tickets.redeem(credential.ticket), 'ticket');
    }
  }

  /**
   * Throws as authenticate would if the principal's key were presented now: for
   * connections that outlive the request that authenticated them (the live stream).
   */
  async recheck(principal: Principal): Promise<void> {
    await this.ofKey(principal, 'token');
  }

  private async ofKey(claimed: Claims, issuedAs: 'token' | 'ticket'): Promise<Principal> {
    const state = await this.keys.byId(tenantScope(claimed.tenantId), claimed.keyId);
    const { principal } = live(
      state,
      `The API key this ${issuedAs} was issued for has been revoked.`,
    );
    // The credential's own scopes; the key's current rate limits.
    return {
      tenantId: claimed.tenantId,
      keyId: claimed.keyId,
      scopes: claimed.scopes,
      rateLimits: principal.rateLimits,
    };
  }
}

function live(state: KeyState | null, revokedDetail: string): KeyState {
  if (!state || state.revoked) throw new DomainError(ErrorCode.Unauthenticated, revokedDetail);
  if (!state.tenantActive) throw new DomainError(ErrorCode.Forbidden, 'The tenant is deactivated.');
  return state;
}
