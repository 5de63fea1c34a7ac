export enum ErrorCode {
  BadRequest = 'bad_request',
  ValidationFailed = 'validation_failed',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  RequestTimeout = 'request_timeout',
  Conflict = 'conflict',
  PayloadTooLarge = 'payload_too_large',
  UriTooLong = 'uri_too_long',
  UnsupportedMediaType = 'unsupported_media_type',
  HeadersTooLarge = 'headers_too_large',
  RateLimited = 'rate_limited',
  Unavailable = 'unavailable',
}

export interface FieldError {
  /** JSON Pointer into the request body or query, e.g. `/3/timestamp`. */
  path: string;
  message: string;
}

/** An error the domain expects; it becomes HTTP only in the exception filter. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extras: {
      errors?: FieldError[];
      retryAfterSeconds?: number;
      /** RFC 9457 extension members the problem body carries besides the standard ones. */
      members?: object;
    } = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}
