import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
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

  async list(tenantId: string, params: ListWindowsParams, nowMs: number): Promise<WindowPage> {
    const toMs = params.to ? Date.parse(params.to) : nowMs;
    const fromMs = params.from ? Date.parse(params.from) : toMs - DAY_MS;
    if (fromMs >= toMs) {
      throw new DomainError(ErrorCode.ValidationFailed, '`from` must be before `to`.', {
        errors: [{ path: '/from', message: 'must be before to' }],
      });
    }
    const rows = await this.windows.list({
      tenantId,
      customerId: params.customerId,
      fromMs,
      toMs,
      limit: params.limit + 1,
      after: params.cursor ? decodeCursor(params.cursor) : undefined,
    });
    const page = rows.slice(0, params.limit).map(toWindowView);
    const last = page.at(-1);
    return {
      data: page,
      nextCursor:
        rows.length > params.limit && last
          ? encodeCursor(Date.parse(last.windowStart), last.customerId)
          : null,
    };
  }
}

function encodeCursor(windowStartMs: number, customerId: string): string {
  return Buffer.from(JSON.stringify([windowStartMs, customerId])).toString('base64url');
}

function decodeCursor(cursor: string): { windowStartMs: number; customerId: string } {
  try {
    const [windowStartMs, customerId] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString(),
    ) as unknown[];
    if (typeof windowStartMs === 'number' && typeof customerId === 'string') {
      return { windowStartMs, customerId };
    }
  } catch {
    // fall through to the 400 below
  }
  throw new DomainError(ErrorCode.ValidationFailed, 'The cursor is not valid.', {
    errors: [{ path: '/cursor', message: 'is not a cursor returned by this endpoint' }],
  });
}
