import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { ApiKeysService } from './api-keys.service';
import { AUTH_KEY, type AuthRequirement } from './auth.decorators';
import { TenantContext } from './tenant-context';

/**
 * Global guard. A route without an auth decorator is refused, so forgetting one fails
 * closed. Tenant routes authenticate the key and put the principal into TenantContext.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly context: TenantContext,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.adminDigest = digest(config.adminToken);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    switch (requirement?.kind) {
      case undefined:
        throw new DomainError(ErrorCode.Forbidden, 'This route declares no access rule.');
      case 'public':
        return true;
      case 'admin':
        return this.checkAdmin(header(request, 'x-admin-token'));
      case 'key':
        return this.checkKey(header(request, 'x-api-key'), requirement.scope);
    }
  }

  private checkAdmin(token: string | undefined): boolean {
    if (token === undefined) {
      throw new DomainError(ErrorCode.Unauthenticated, 'X-Admin-Token header is required.');
    }
    if (!timingSafeEqual(digest(token), this.adminDigest)) {
      throw new DomainError(ErrorCode.Unauthenticated, 'X-Admin-Token is not valid.');
    }
    return true;
  }

  private async checkKey(key: string | undefined, scope: string): Promise<boolean> {
    if (key === undefined) {
      throw new DomainError(ErrorCode.Unauthenticated, 'X-API-Key header is required.');
    }
    const principal = await this.apiKeys.authenticate(key);
    if (!principal) {
      throw new DomainError(ErrorCode.Unauthenticated, 'The API key is unknown or revoked.');
    }
    if (!principal.scopes.some((s) => s === scope)) {
      throw new DomainError(ErrorCode.Forbidden, `The API key lacks the '${scope}' scope.`);
    }
    this.context.set(principal);
    return true;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
