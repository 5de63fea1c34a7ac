import type { ChainableCommander } from 'ioredis';

/**
 * Runs a pipeline and returns its results, throwing the first command error: ioredis
 * resolves a pipeline with per-command errors, which are easy to drop by accident.
 */
export async function execAll(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}
