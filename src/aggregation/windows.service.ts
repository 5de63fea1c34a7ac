import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { decodeCursor, encodeCursor } from '../common/pagination/cursor';
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
    const toMs = params.to ? Date.parse(params.to) : nowMs;
    const fromMs = params.from ? Date.parse(params.from) : toMs - DAY_MS;
    if (fromMs >= toMs) {
      throw new DomainError(ErrorCode.ValidationFailed, '`from` must be before `to`.', {
        errors: [{ path: '/from', message: 'must be before to' }],
      });
    }
    const after = params.cursor ? decodeCursor(params.cursor, ['number', 'string']) : undefined;
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
