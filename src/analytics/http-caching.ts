import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';

/**
 * Revalidation headers for an answer: `Cache-Control: private, no-cache` (a browser or
 * dashboard may keep it but must ask again before each use: counts move with every flush
 * and, for open windows, every second) and a weak ETag over the answer without its
 * `asOf`, so an unchanged answer costs a 304 without a body. Returns true when the
 * caller's `If-None-Match` already holds it.
 */
export function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: { asOf?: string },
  variant = '',
): boolean {
  const content = JSON.stringify({ ...answer, asOf: undefined });
  const digest = createHash('sha1').update(variant).update(content).digest('base64url');
  const etag = `W/"${digest}"`;
  void reply.header('Cache-Control', 'private, no-cache').header('ETag', etag);
  const asked = request.headers['if-none-match'];
  if (asked === undefined) return false;
  const tags = asked.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes('*') && !tags.includes(etag.slice(2))) return false;
  void reply.status(304);
  return true;
}
