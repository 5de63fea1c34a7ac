import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';

/**
 * Revalidation headers for an answer: `Cache-Control: private, no-cache` (a browser or
 * dashboard may keep it but must ask again before each use: counts move with every flush
 * and, for open windows, every second) and a weak ETag over the answer without its
 * `asOf`, so an unchanged answer costs a 304 without a body. Returns the body to send
 * (serialised once, `asOf` last), or undefined for a 304.
 */
export function conditionalJson(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: { asOf?: string },
): string | undefined {
  const { asOf, ...content } = answer;
  const text = JSON.stringify(content);
  if (revalidated(request, reply, text)) return undefined;
  void reply.header('Content-Type', 'application/json; charset=utf-8');
  return asOf === undefined ? text : `${text.slice(0, -1)},"asOf":${JSON.stringify(asOf)}}`;
}

/** The same headers for another representation of an answer (the CSV export); true: 304. */
export function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: { asOf?: string },
  variant: string,
): boolean {
  return revalidated(request, reply, `${variant}${JSON.stringify({ ...answer, asOf: undefined })}`);
}

function revalidated(request: FastifyRequest, reply: FastifyReply, content: string): boolean {
  const etag = `W/"${createHash('sha1').update(content).digest('base64url')}"`;
  void reply.header('Cache-Control', 'private, no-cache').header('ETag', etag);
  const asked = request.headers['if-none-match'];
  if (asked === undefined) return false;
  const tags = asked.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes('*') && !tags.includes(etag.slice(2))) return false;
  void reply.status(304);
  return true;
}
