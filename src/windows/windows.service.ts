import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
import { instantOf, MIN_INSTANT_MS } from '../common/validation/exact-instant';
import type { TenantScope } from '../infra/database/tenant-scope';
import { toWindowView, type WindowView } from './window-view';
import { WindowsRepository } from './windows.repository';

const DAY_MS = 86_400_000;

export interface ListWindowsParams {
  customerId?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

export interface WindowPage {
  data: WindowView[];
  nextCursor: string | null;
}

@Injectable()
export class WindowsService {
  constructor(private readonly windows: WindowsRepository) {}

  async list(scope: TenantScope, params: ListWindowsParams, nowMs: number): Promise<WindowPage> {
    const toMs = params.to ? instantOf(params.to) : nowMs;
    // No window starts in the first millisecond of year 1, and the repository's exclusive
    // lower bound (from - 1 ms) must stay an instant Postgres can read.
    const fromMs = Math.max(
      params.from ? instantOf(params.from) : toMs - DAY_MS,
      MIN_INSTANT_MS + 1,
    );
    if (fromMs >= toMs) {
      throw new DomainError(ErrorCode.ValidationFailed, '`from` must be before `to`.', {
        errors: [{ path: '/from', message: 'must be before to' }],
      });
    }
    const after = params.cursor ? decodeCursor(params.cursor, ['timestamp', 'string']) : undefined;
    const rows = await this.windows.list(scope, {
      customerId: params.customerId,
      fromMs,
      toMs,
      limit: params.limit + 1,
      after: after && { windowStartMs: after[0], customerId: after[1] },
    });
    const page = rows.slice(0, params.limit).map(toWindowView);
    const last = page.at(-1);
    return {
      data: page,
      nextCursor:
        rows.length > params.limit && last
          ? encodeCursor([Date.parse(last.windowStart), last.customerId])
          : null,
    };
  }
}
