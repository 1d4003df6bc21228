import {
  BadRequestException,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  MethodNotAllowedException,
  NotFoundException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { allowedMethods } from '../http/allowed-methods';
import { hasMalformedPath, MALFORMED_PATH, requestPath, type HttpRequest } from '../http/http-request';
import { ResponseWriter, type HttpResponse } from '../http/response-writer';
import { InvalidTokenException } from '../exceptions/invalid-token.exception';
import { isRedisUnavailable, StateStoreUnavailableError } from '../exceptions/state-store-unavailable.error';
import { ServiceBusyException } from '../exceptions/service-busy.exception';
import { TooManyRequestsException } from '../exceptions/too-many-requests.exception';

interface ErrorBody {
  statusCode: number;
  message: string | string[];
  error: string;
}

/** Seconds a client is asked to wait when a dependency (database, Redis) is unavailable. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Driver and Mongoose errors that mean "the database cannot be reached right now". */
const DATABASE_UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
]);

/**
 * Socket errors of a dependency's connection that its driver sometimes passes on as they are, e.g.
 * the MongoDB driver writing to a pooled connection the killed database had just closed ("This
 * socket has been ended by the other party", EPIPE). Our own HTTP connection's errors never reach a
 * filter.
 */
const CONNECTION_ERROR_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTCONN',
]);

function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/**
 * Shapes every error as `{statusCode, message, error}`. Client errors keep their message; a 5xx says
 * only what kind of failure it was, while the real cause is logged here, never sent.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly responses: ResponseWriter,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<HttpResponse>();
    const req = ctx.getRequest<HttpRequest>();
    const adapter = this.adapterHost.httpAdapter;
    exception = malformedPathError(exception, req) ?? clientErrorOfHttpLayer(exception) ?? exception;
    const methodNotAllowed = this.methodNotAllowed(exception, req);
    if (methodNotAllowed) {
      exception = methodNotAllowed.exception;
      this.responses.setHeader(res, 'Allow', methodNotAllowed.allow.join(', '));
    }
    const body = this.toBody(exception, req);
    if (adapter.isHeadersSent(res)) {
      // Too late to answer with an error: end what was started.
      adapter.end(res);
      return;
    }

    if (body.statusCode === HttpStatus.UNAUTHORIZED) {
      const tokenPresented = exception instanceof InvalidTokenException && exception.tokenPresented;
      this.responses.setHeader(res, 'WWW-Authenticate', tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer');
    }
    if (exception instanceof TooManyRequestsException || exception instanceof ServiceBusyException) {
      this.responses.setHeader(res, 'Retry-After', String(exception.retryAfterSeconds));
    } else if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE) {
      // A dependency is down: clients, and proxies in front of forward-auth, are told when to ask again.
      this.responses.setHeader(res, 'Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    }
    adapter.reply(res, body, body.statusCode);
  }

  /** Nest answers a known path with an unserved method as 404; HTTP says 405 with Allow. */
  private methodNotAllowed(
    exception: unknown,
    req: HttpRequest,
  ): { exception: HttpException; allow: string[] } | undefined {
    if (!(exception instanceof NotFoundException)) return undefined;
    const allow = allowedMethods(this.adapterHost.httpAdapter, requestPath(req));
    if (allow.length === 0 || allow.includes(req.method)) return undefined;
    return { exception: new MethodNotAllowedException(`Method ${req.method} is not allowed on this path`), allow };
  }

  private toBody(exception: unknown, req: HttpRequest): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (status >= 500) this.logger.error(`${req.method} ${requestPath(req)} -> ${status}: ${exception.message}`);
      if (typeof response === 'string') return { statusCode: status, message: response, error: statusText(status) };
      const { message, error } = response as Partial<ErrorBody>;
      return {
        statusCode: status,
        // Our own exceptions: their messages were written for clients, 5xx included.
        message: message ?? statusText(status),
        error: typeof error === 'string' ? error : statusText(status),
      };
    }

    const name = (exception as { name?: string } | null)?.name ?? '';
    if (DATABASE_UNAVAILABLE.has(name) || isMongooseDisconnected(exception)) {
      this.logger.warn(`${req.method} ${requestPath(req)} -> 503: database unavailable (${name})`);
      return { statusCode: 503, message: 'Database unavailable, try again shortly', error: statusText(503) };
    }

    const code = (exception as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) {
      this.logger.warn(`${req.method} ${requestPath(req)} -> 503: connection to a dependency lost (${code})`);
      return { statusCode: 503, message: 'Service temporarily unavailable, try again shortly', error: statusText(503) };
    }

    if (exception instanceof StateStoreUnavailableError || isRedisUnavailable(exception)) {
      this.logger.warn(
        `${req.method} ${requestPath(req)} -> 503: state store unavailable (${(exception as Error).message})`,
      );
      return { statusCode: 503, message: 'Service temporarily unavailable, try again shortly', error: statusText(503) };
    }

    this.logger.error(
      `${req.method} ${requestPath(req)} -> 500`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return { statusCode: 500, message: 'Internal server error', error: statusText(500) };
  }
}

/**
 * A client error raised by the HTTP layer itself rather than by our code: Fastify's own (FST_* codes,
 * e.g. an unparseable Content-Type) and http-errors' (Express's router, e.g. a malformed percent
 * escape). Their status is kept; their text, written for developers, is replaced by the status text.
 */
function clientErrorOfHttpLayer(exception: unknown): HttpException | undefined {
  if (exception instanceof HttpException || exception === null || typeof exception !== 'object') return undefined;
  const { statusCode, status, code, expose } = exception as {
    statusCode?: unknown;
    status?: unknown;
    code?: unknown;
    expose?: unknown;
  };
  const fromHttpLayer = (typeof code === 'string' && code.startsWith('FST_')) || expose === true;
  const httpStatus = typeof statusCode === 'number' ? statusCode : status;
  if (!fromHttpLayer || typeof httpStatus !== 'number' || httpStatus < 400 || httpStatus > 499) return undefined;
  return new HttpException(statusText(httpStatus), httpStatus);
}

/**
 * Express's router fails on a path parameter that is not valid percent-encoding, and Nest turns that
 * into a 400 that quotes the parameter back. Such a path never reaches a handler on either adapter:
 * whatever was raised for it, the answer is Fastify's for the same path (frameworkErrors).
 */
function malformedPathError(exception: unknown, req: HttpRequest): HttpException | undefined {
  const clientError = exception instanceof HttpException && exception.getStatus() < 500;
  return clientError && hasMalformedPath(req) ? new BadRequestException(MALFORMED_PATH) : undefined;
}

/** Mongoose's own error when it has no connection to hand an operation to. */
function isMongooseDisconnected(exception: unknown): boolean {
  return (
    exception instanceof Error &&
    exception.name === 'MongooseError' &&
    /buffering timed out|before initial connection|Connection was force closed|client was closed/i.test(
      exception.message,
    )
  );
}
