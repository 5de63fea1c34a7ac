import { Inject, Injectable } from '@nestjs/common';
import { Ajv } from 'ajv';
import { addFormats } from '../common/validation/ajv-formats';
import { instantOf } from '../common/validation/exact-instant';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { DomainError, ErrorCode, FieldError } from '../common/errors/domain-error';
import { UNSTORABLE_MESSAGE, unstorablePaths } from '../common/validation/storable-text';
import { firstPerPath, toFieldError } from '../common/validation/validate-body';
import { meteringEventSchema } from './event.schema';
import type { MeteringEvent } from '../window-store';

interface RawEvent {
  eventId: string;
  timestamp: string;
  tenantId?: string;
  customerId: string;
  apiEndpoint: string;
  metadata?: Record<string, unknown> & {
    tokens?: number;
    inputTokens?: number;
    outputTokens?: number;
    latencyMs?: number;
    model?: string;
  };
}

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time', 'uuid']);
const validateEvent = ajv.compile<RawEvent>(meteringEventSchema);

/**
 * All-or-nothing validation of an ingest body: every bad field of every event is
 * reported with its JSON Pointer (`/3/timestamp`), and one bad event refuses them all.
 */
@Injectable()
export class EventValidator {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  validate(body: unknown, tenantId: string, nowMs: number): MeteringEvent[] {
    const single = !Array.isArray(body);
    const items: unknown[] = single ? [body] : body;
    const { maxEventsPerRequest } = this.config.ingest;
    if (items.length === 0 || items.length > maxEventsPerRequest) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `The body must be one event or an array of 1 to ${maxEventsPerRequest} events.`,
        { errors: [{ path: '', message: `must hold 1 to ${maxEventsPerRequest} events` }] },
      );
    }
    const errors: FieldError[] = [];
    const events: MeteringEvent[] = [];
    const foreign: FieldError[] = [];
    items.forEach((item, index) => {
      const base = single ? '' : `/${index}`;
      const before = errors.length;
      if (!validateEvent(item)) {
        errors.push(...(validateEvent.errors ?? []).map((e) => toFieldError(e, base)));
        return;
      }
      const event = this.normalise(item, tenantId, nowMs, base, errors);
      if (item.tenantId !== undefined && item.tenantId !== tenantId) {
        foreign.push({ path: `${base}/tenantId`, message: 'does not match the API key tenant' });
      }
      if (errors.length === before && event) events.push(event);
    });
    if (errors.length > 0) {
      const unique = firstPerPath(errors);
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `${unique.length} invalid field(s); nothing was ingested.`,
        { errors: unique },
      );
    }
    if (foreign.length > 0) {
      throw new DomainError(
        ErrorCode.Forbidden,
        'An event names another tenant than the API key; nothing was ingested.',
        { errors: foreign },
      );
    }
    return events;
  }

  private normalise(
    raw: RawEvent,
    tenantId: string,
    nowMs: number,
    base: string,
    errors: FieldError[],
  ): MeteringEvent | undefined {
    const timestampMs = instantOf(raw.timestamp);
    const { maxFutureSkewMs, retentionMs, metadataLimitBytes } = this.config.ingest;
    if (timestampMs > nowMs + maxFutureSkewMs) {
      errors.push({
        path: `${base}/timestamp`,
        message: `is more than ${maxFutureSkewMs / 1000} s in the future (clock skew limit)`,
      });
    } else if (timestampMs < nowMs - retentionMs) {
      errors.push({
        path: `${base}/timestamp`,
        message: `is older than the ${retentionMs / 86_400_000}-day retention`,
      });
    }
    const metadata = { ...(raw.metadata ?? {}) };
    const inputTokens = metadata.inputTokens ?? 0;
    const outputTokens = metadata.outputTokens ?? 0;
    metadata.tokens ??= inputTokens + outputTokens;
    const serialised = JSON.stringify(metadata);
    if (Buffer.byteLength(serialised) > metadataLimitBytes) {
      errors.push({ path: `${base}/metadata`, message: `exceeds ${metadataLimitBytes} bytes` });
      return undefined;
    }
    // Accepted, such an event would fail its whole persistence batch on every retry.
    const unstorable = unstorablePaths(raw, base);
    if (unstorable.length > 0) {
      errors.push(...unstorable.map((path) => ({ path, message: UNSTORABLE_MESSAGE })));
      return undefined;
    }
    return {
      eventId: raw.eventId,
      timestampMs,
      tenantId,
      customerId: raw.customerId,
      endpoint: raw.apiEndpoint,
      tokens: metadata.tokens,
      inputTokens,
      outputTokens,
      latencyMs: metadata.latencyMs,
      model: metadata.model,
      metadata,
    };
  }
}
