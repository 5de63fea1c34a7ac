import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import type { Scope } from './scope';

export const AUTH_KEY = 'tally:auth';

export type AuthRequirement =
  | { kind: 'public' }
  | { kind: 'admin' }
  | { kind: 'key'; scope: Scope; ticket?: true }
  | { kind: 'apiKey' };

/** A route that acts for one tenant: the guard has set its principal. */
export function isTenantRoute(requirement: AuthRequirement | undefined): boolean {
  return requirement?.kind === 'key' || requirement?.kind === 'apiKey';
}

/** No credential needed (probes, docs). */
export const Public = () => SetMetadata(AUTH_KEY, { kind: 'public' } satisfies AuthRequirement);

/** Operator route: X-Admin-Token, from an allowed address. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(AUTH_KEY, { kind: 'admin' } satisfies AuthRequirement),
    ApiSecurity('adminToken'),
  );

/** Tenant route: an API key, or a token issued for one, carrying this scope. */
export const RequireScope = (scope: Scope) =>
  applyDecorators(
    SetMetadata(AUTH_KEY, { kind: 'key', scope } satisfies AuthRequirement),
    ApiSecurity('apiKey'),
    ApiBearerAuth('bearer'),
    ApiExtension('x-required-scope', scope),
  );

/**
 * The live stream: as RequireScope('read'), and a stream ticket in `?ticket=` as well, for
 * browsers' EventSource, which cannot send headers. No other route reads `?ticket=`.
 */
export const RequireStreamAccess = () =>
  applyDecorators(
    SetMetadata(AUTH_KEY, { kind: 'key', scope: 'read', ticket: true } satisfies AuthRequirement),
    ApiSecurity('apiKey'),
    ApiBearerAuth('bearer'),
    ApiSecurity('streamTicket'),
    ApiExtension('x-required-scope', 'read'),
  );

/** An API key itself, whatever its scopes; a token is refused (it must not mint tokens). */
export const RequireApiKey = () =>
  applyDecorators(
    SetMetadata(AUTH_KEY, { kind: 'apiKey' } satisfies AuthRequirement),
    ApiSecurity('apiKey'),
  );
