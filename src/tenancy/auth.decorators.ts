import { SetMetadata } from '@nestjs/common';
import type { Scope } from './scope';

export const AUTH_KEY = 'tally:auth';

export type AuthRequirement =
  { kind: 'public' } | { kind: 'admin' } | { kind: 'key'; scope: Scope };

/** No credential needed (probes, docs). */
export const Public = () => SetMetadata(AUTH_KEY, { kind: 'public' } satisfies AuthRequirement);

/** Operator route: X-Admin-Token. */
export const AdminOnly = () => SetMetadata(AUTH_KEY, { kind: 'admin' } satisfies AuthRequirement);

/** Tenant route: a key (or token) carrying this scope. */
export const RequireScope = (scope: Scope) =>
  SetMetadata(AUTH_KEY, { kind: 'key', scope } satisfies AuthRequirement);
