import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { IncomingMessage, ServerResponse } from 'node:http';

/** The security headers every response carries, by lowercase name. */
export type SecurityHeaders = Readonly<Record<string, string>>;

/**
 * Security headers from helmet (docs/architecture.md), computed once: helmet's options
 * here vary nothing by request (no CSP nonce), so its middleware runs once on a
 * throwaway response and its headers are kept. Running it per request cost 7 µs of CPU
 * (its chain of middlewares, each header through Node's `setHeader`), and a header set
 * on the raw response sends all of Fastify's headers through `setHeader` too at
 * `writeHead`; Fastify's own reply headers do not (docs/performance.md, issue 16).
 *
 * Kept: Content-Security-Policy (helmet's default, which Swagger UI at /docs works
 * under: its scripts are same-origin files, its styles inline, its icons data: URIs),
 * Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy, Referrer-Policy,
 * Strict-Transport-Security, X-Content-Type-Options: nosniff and X-Frame-Options.
 * Dropped, as headers of old browsers or of pages this service does not serve:
 * Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options (IE 8),
 * X-Permitted-Cross-Domain-Policies (Flash), X-XSS-Protection (which helmet only sets to 0).
 */
export function securityHeaders(): SecurityHeaders {
  const middleware = helmet({
    contentSecurityPolicy: {
      // Would send a browser to https:// for Swagger UI's assets on a plain-HTTP deployment.
      directives: { upgradeInsecureRequests: null },
    },
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  const request = new IncomingMessage(null as never);
  const response = new ServerResponse(request);
  // The middleware is synchronous: the headers are set when it returns.
  middleware(request, response, () => undefined);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.getHeaders())) headers[name] = String(value);
  return Object.freeze(headers);
}

/** On every response Fastify routes, 404s and errors included. */
export function addSecurityHeaders(fastify: FastifyInstance, headers: SecurityHeaders): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
