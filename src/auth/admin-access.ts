import { Inject, Injectable } from '@nestjs/common';
import { BlockList, isIPv4 } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { APP_CONFIG, type AppConfig, type Network } from '../config/app-config';
import { header } from './credentials';

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Operator routes: X-Admin-Token, and, when ADMIN_ALLOWED_IPS is set, only from those
 * networks. The address is the TCP peer's: behind a proxy, the proxy's.
 */
@Injectable()
export class AdminAccess {
  private readonly tokenDigest: Buffer;
  private readonly allowed: BlockList | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.tokenDigest = digest(config.adminToken);
    this.allowed = config.adminAllowedNetworks && blockListOf(config.adminAllowedNetworks);
  }

  check(request: FastifyRequest): void {
    if (this.allowed && !isAllowed(this.allowed, request.ip)) {
      throw new DomainError(ErrorCode.Forbidden, 'Operator routes are not open to this address.');
    }
    const token = header(request, 'x-admin-token');
    if (token === undefined) {
      throw new DomainError(ErrorCode.Unauthenticated, 'X-Admin-Token header is required.');
    }
    // Digests first: timingSafeEqual needs equal lengths, and the length must not leak either.
    if (!timingSafeEqual(digest(token), this.tokenDigest)) {
      throw new DomainError(ErrorCode.Unauthenticated, 'X-Admin-Token is not valid.');
    }
  }
}

function blockListOf(networks: Network[]): BlockList {
  const list = new BlockList();
  for (const { address, prefix, family } of networks) list.addSubnet(address, prefix, family);
  return list;
}

function isAllowed(allowed: BlockList, ip: string): boolean {
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; match them as IPv4.
  const address = MAPPED_IPV4.exec(ip)?.[1] ?? ip;
  return allowed.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
