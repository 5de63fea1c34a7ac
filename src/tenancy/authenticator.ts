import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { tenantScope } from '../infra/database/tenant-scope';
import { AccessTokens } from './access-tokens';
import { ApiKeysService, type KeyState } from './api-keys.service';
import type { Credential } from './credentials';
import type { Principal } from './principal';

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
  ) {}

  /** `client`: the caller's address, which unknown keys are counted against. */
  async authenticate(credential: Credential, client: string): Promise<Principal> {
    if (credential.kind === 'apiKey') {
      const state = await this.keys.byKey(credential.key, client);
      if (!state) throw new DomainError(ErrorCode.Unauthenticated, 'The API key is unknown.');
      return live(state, 'The API key has been revoked.').principal;
    }
    const claimed = await this.tokens.verify(credential.token);
    const state = await this.keys.byId(tenantScope(claimed.tenantId), claimed.keyId);
    const { principal } = live(state, 'The API key this token was issued for has been revoked.');
    // The token's own scopes; the key's current rate limits.
    return { ...claimed, rateLimits: principal.rateLimits };
  }
}

function live(state: KeyState | null, revokedDetail: string): KeyState {
  if (!state || state.revoked) throw new DomainError(ErrorCode.Unauthenticated, revokedDetail);
  if (!state.tenantActive) throw new DomainError(ErrorCode.Forbidden, 'The tenant is deactivated.');
  return state;
}
