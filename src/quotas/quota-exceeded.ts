import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../common/errors/domain-error';
import { PROBLEM_CONTENT_TYPE, problemType, statusOf } from '../common/errors/problem';
import type { ExceededView } from './quota-views';

/** A refused consume: a 429 whose problem body also says which limit refused and until when. */
export class QuotaExceeded extends DomainError {
  constructor(
    readonly view: ExceededView,
    units: number,
    retryAfterSeconds: number,
  ) {
    const { metric, limit, period, algorithm, remaining } = view.exceeded;
    const when =
      view.retryAt === null
        ? 'it asks for more than the whole limit and can never pass'
        : `retry at ${view.retryAt}`;
    super(
      ErrorCode.RateLimited,
      `${units} ${metric} asked, ${remaining} left of ${limit} per ${period} (${algorithm}); ${when}.`,
      { retryAfterSeconds },
    );
  }
}

/**
 * Renders QuotaExceeded like ProblemFilter renders any DomainError, plus the decision's
 * fields as RFC 9457 extension members, which the shared filter has no place for.
 */
@Catch(QuotaExceeded)
export class QuotaExceededFilter implements ExceptionFilter {
  catch(exception: QuotaExceeded, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, title } = statusOf(exception.code);
    void reply
      .status(status)
      .header('Retry-After', String(exception.extras.retryAfterSeconds))
      .header('Content-Type', PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType(exception.code),
        title,
        status,
        detail: exception.detail,
        instance: request.url,
        code: exception.code,
        requestId: String(request.id),
        ...exception.view,
      });
  }
}
