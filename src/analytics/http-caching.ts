import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';

/** An answer serialised without its `asOf`, as UTF-8 (a kept one is not encoded again), and the weak ETag over that. */
export interface RenderedAnswer {
  content: Buffer;
  etag: string;
}

/** A rendered answer and the instant its counts are true at, its `asOf`. */
export interface JsonAnswer {
  rendered: RenderedAnswer;
  asOfMs: number;
}

/**
 * Serialises an answer once for the wire. `asOf` is left out of the content and the ETag: it
 * moves with every read (the Redis time of the open-window read) while the counts may not, so
 * an unchanged answer keeps its ETag and can be kept rendered (UsageEngine.rendered).
 */
export function render<A extends { asOf: string }>(answer: A): RenderedAnswer {
  const text = JSON.stringify({ ...answer, asOf: undefined });
  return { content: Buffer.from(text), etag: etagOf(text) };
}

/**
 * Revalidation headers for an answer: `Cache-Control: private, no-cache` (a browser or
 * dashboard may keep it but must ask again before each use: counts move with every flush
 * and, for open windows, every second) and its weak ETag, so an unchanged answer costs a
 * 304 without a body. Returns the body to send (`asOf` put back last), or undefined for a 304.
 */
export function conditionalJson(
  request: FastifyRequest,
  reply: FastifyReply,
  { rendered, asOfMs }: JsonAnswer,
): Buffer | undefined {
  if (revalidated(request, reply, rendered.etag)) return undefined;
  void reply.header('Content-Type', 'application/json; charset=utf-8');
  const { content } = rendered;
  return Buffer.concat([
    content.subarray(0, -1),
    Buffer.from(`,"asOf":${JSON.stringify(new Date(asOfMs).toISOString())}}`),
  ]);
}

/** The same headers for another representation of an answer (the CSV export); true: 304. */
export function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: { asOf?: string },
  variant: string,
): boolean {
  return revalidated(
    request,
    reply,
    etagOf(`${variant}${JSON.stringify({ ...answer, asOf: undefined })}`),
  );
}

function etagOf(content: string): string {
  return `W/"${createHash('sha1').update(content).digest('base64url')}"`;
}

function revalidated(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  void reply.header('Cache-Control', 'private, no-cache').header('ETag', etag);
  const asked = request.headers['if-none-match'];
  if (asked === undefined) return false;
  const tags = asked.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!tags.includes('*') && !tags.includes(etag.slice(2))) return false;
  void reply.status(304);
  return true;
}
