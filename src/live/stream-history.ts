import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { defineScript, type ScriptCommand } from '../infra/redis/define-script';
import { REDIS } from '../infra/redis/redis.tokens';
import { compareIds } from './event-id';
import type { LiveEvent } from './live-event';
import { LiveEvents } from './live-events';
import { LiveKeys } from '../infra/redis/redis-keys';
import { TOUCH_HISTORY_LUA } from './live.lua';

/** Events after a position, or `gap`: some of them were trimmed, and the reader must reset. */
export type HistoryPage = { gap: false; events: LiveEvent[] } | { gap: true };

type StreamEntry = [id: string, fields: string[]];

/** Reads a tenant's history (written by LiveEvents) for resumes and catch-ups. */
@Injectable()
export class StreamHistory {
  private readonly touchScript: ScriptCommand<string>;
  private readonly keys: LiveKeys;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly events: LiveEvents,
  ) {
    this.touchScript = defineScript(redis, 'tallyLiveTouchHistory', TOUCH_HISTORY_LUA);
    this.keys = new LiveKeys(config.redisKeyPrefix);
  }

  /** Keeps the history alive while streams read it; returns its head, where a new stream starts. */
  touch(tenantId: string): Promise<string> {
    return this.touchScript(1, this.keys.history(tenantId), this.events.historyTtlMs);
  }

  /**
   * Up to `count` events after `after`. The history is trimmed oldest first and records
   * the newest id it trimmed (live.lua.ts), so nothing after `after` is missing while that
   * id is not past it; a history that is gone altogether (expired after a long silence,
   * or Redis lost its data) is a gap too. Read atomically with the check, so that a trim
   * cannot slip in between.
   */
  async after(tenantId: string, after: string, count: number): Promise<HistoryPage> {
    const key = this.keys.history(tenantId);
    const replies = await this.redis
      .multi()
      .exists(key)
      .xinfo('STREAM', key)
      .xrange(key, `(${after}`, '+', 'COUNT', count)
      .exec();
    const [[, exists], [infoError, info], [rangeError, range]] = replies ?? [];
    if (exists === 0) return { gap: true };
    if (infoError) throw infoError;
    if (rangeError) throw rangeError;
    const flat = info as unknown[];
    const trimmedTo = String(flat[flat.indexOf('max-deleted-entry-id') + 1]);
    if (compareIds(trimmedTo, after) > 0) return { gap: true };
    return { gap: false, events: (range as StreamEntry[]).map(toEvent) };
  }
}

function toEvent([id, fields]: StreamEntry): LiveEvent {
  const stored = JSON.parse(fields[1]) as Omit<LiveEvent, 'id'>;
  return { id, ...stored };
}
