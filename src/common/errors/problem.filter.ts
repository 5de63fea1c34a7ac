import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error';
import {
  codeOfStatus,
  Problem,
  PROBLEM_CONTENT_TYPE,
  problemOf,
  problemType,
  statusOf,
} from './problem';

/**
 * The one place errors become HTTP: domain errors map through their code, framework
 * and parser errors through their status, anything else is a 500 with an error id
 * that is logged with the stack and never shows internals to the caller.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const problem = this.toProblem(exception);
    problem.instance = request.url;
    problem.requestId = String(request.id);
    if (exception instanceof DomainError && exception.extras.retryAfterSeconds !== undefined) {
      void reply.header('Retry-After', String(exception.extras.retryAfterSeconds));
    }
    const body =
      exception instanceof DomainError && exception.extras.members
        ? { ...problem, ...exception.extras.members }
        : problem;
    void reply.status(problem.status).header('Content-Type', PROBLEM_CONTENT_TYPE).send(body);
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof DomainError) {
      return problemOf(exception.code, exception.detail, exception.extras.errors);
    }
    const status = statusOfThrown(exception);
    const code = status === undefined ? undefined : codeOfStatus(status);
    if (code !== undefined) {
      return problemOf(code, detailOf(exception, statusOf(code).title));
    }
    const errorId = randomUUID();
    this.logger.error(
      { errorId, err: exception instanceof Error ? exception : String(exception) },
      'unhandled error',
    );
    return {
      type: problemType('internal'),
      title: 'Internal Server Error',
      status: 500,
      detail: `An unexpected error occurred; quote error id ${errorId} when reporting it.`,
      code: 'internal',
      errorId,
    };
  }
}

function statusOfThrown(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500
    ? statusCode
    : undefined;
}

function detailOf(exception: unknown, fallback: string): string {
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const message =
      typeof response === 'string' ? response : (response as { message?: unknown }).message;
    return typeof message === 'string' ? message : fallback;
  }
  return exception instanceof Error ? exception.message : fallback;
}
