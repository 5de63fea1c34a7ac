import { ErrorCode, FieldError } from './domain-error';

/** RFC 9457 problem details, as every error response carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  requestId?: string;
  errorId?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function statusOf(code: ErrorCode): { status: number; title: string } {
  switch (code) {
    case ErrorCode.BadRequest:
      return { status: 400, title: 'Bad Request' };
    case ErrorCode.ValidationFailed:
      return { status: 400, title: 'Validation Failed' };
    case ErrorCode.Unauthenticated:
      return { status: 401, title: 'Unauthorized' };
    case ErrorCode.Forbidden:
      return { status: 403, title: 'Forbidden' };
    case ErrorCode.NotFound:
      return { status: 404, title: 'Not Found' };
    case ErrorCode.RequestTimeout:
      return { status: 408, title: 'Request Timeout' };
    case ErrorCode.Conflict:
      return { status: 409, title: 'Conflict' };
    case ErrorCode.PayloadTooLarge:
      return { status: 413, title: 'Payload Too Large' };
    case ErrorCode.UriTooLong:
      return { status: 414, title: 'URI Too Long' };
    case ErrorCode.UnsupportedMediaType:
      return { status: 415, title: 'Unsupported Media Type' };
    case ErrorCode.HeadersTooLarge:
      return { status: 431, title: 'Request Header Fields Too Large' };
    case ErrorCode.RateLimited:
      return { status: 429, title: 'Too Many Requests' };
    case ErrorCode.Unavailable:
      return { status: 503, title: 'Service Unavailable' };
  }
}

/** Maps a bare HTTP status (from the framework or the HTTP parser) to the domain code. */
export function codeOfStatus(status: number): ErrorCode | undefined {
  const byStatus: Record<number, ErrorCode> = {
    400: ErrorCode.BadRequest,
    401: ErrorCode.Unauthenticated,
    403: ErrorCode.Forbidden,
    404: ErrorCode.NotFound,
    405: ErrorCode.NotFound,
    408: ErrorCode.RequestTimeout,
    409: ErrorCode.Conflict,
    413: ErrorCode.PayloadTooLarge,
    414: ErrorCode.UriTooLong,
    415: ErrorCode.UnsupportedMediaType,
    431: ErrorCode.HeadersTooLarge,
    429: ErrorCode.RateLimited,
    503: ErrorCode.Unavailable,
  };
  return byStatus[status];
}

/** The problem for a domain code; the filter adds where and for which request. */
export function problemOf(code: ErrorCode, detail: string, errors?: FieldError[]): Problem {
  const { status, title } = statusOf(code);
  return { type: problemType(code), title, status, detail, code, ...(errors ? { errors } : {}) };
}

export function problemType(code: string): string {
  return `https://tally.dev/problems/${code.replace(/_/g, '-')}`;
}
