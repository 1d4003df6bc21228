import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
  UnauthorizedException,
  type ArgumentsHost,
} from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { InvalidTokenException } from '../exceptions/invalid-token.exception';
import { StateStoreUnavailableError } from '../exceptions/state-store-unavailable.error';
import { TooManyRequestsException } from '../exceptions/too-many-requests.exception';
import type { HttpAdapterHost } from '@nestjs/core';
import { MALFORMED_PATH } from '../http/http-request';
import { ResponseWriter } from '../http/response-writer';
import { HttpExceptionFilter } from './http-exception.filter';

interface FakeResponse {
  headersSent: boolean;
  headers: Map<string, string>;
  statusCode?: number;
  body?: unknown;
  setHeader: jest.Mock;
  status: jest.Mock;
  json: jest.Mock;
  end: jest.Mock;
}

function fakeResponse(): FakeResponse {
  const res: FakeResponse = {
    headersSent: false,
    headers: new Map(),
    setHeader: jest.fn((name: string, value: string) => res.headers.set(name.toLowerCase(), value)),
    status: jest.fn((code: number) => {
      res.statusCode = code;
      return res;
    }),
    json: jest.fn((body: unknown) => {
      res.body = body;
      return res;
    }),
    end: jest.fn(),
  };
  return res;
}

/** The part of Nest's HttpAdapter the filter uses, writing into a FakeResponse. */
function fakeAdapterHost(): HttpAdapterHost {
  const httpAdapter = {
    setHeader: (res: FakeResponse, name: string, value: string) => res.setHeader(name, value),
    appendHeader: (res: FakeResponse, name: string, value: string) => res.setHeader(name, value),
    isHeadersSent: (res: FakeResponse) => res.headersSent,
    end: (res: FakeResponse) => res.end(),
    reply: (res: FakeResponse, body: unknown, status: number) => res.status(status).json(body),
  };
  return { httpAdapter } as unknown as HttpAdapterHost;
}

function hostFor(res: FakeResponse, url = '/api/auth/login'): ArgumentsHost {
  const req = { method: 'POST', url };
  return { switchToHttp: () => ({ getResponse: () => res, getRequest: () => req }) } as unknown as ArgumentsHost;
}

describe(HttpExceptionFilter.name, () => {
  let sut: HttpExceptionFilter;
  let res: FakeResponse;
  let loggedErrors: jest.SpyInstance;
  let loggedWarnings: jest.SpyInstance;

  beforeEach(() => {
    const adapterHost = fakeAdapterHost();
    sut = new HttpExceptionFilter(adapterHost, new ResponseWriter(adapterHost));
    res = fakeResponse();
    loggedErrors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    loggedWarnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('HTTP exceptions', () => {
    it("keeps a client error's message and shape", () => {
      sut.catch(new NotFoundException('Session not found'), hostFor(res));

      expect(res.statusCode).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, message: 'Session not found', error: 'Not Found' });
    });

    it("keeps the validation pipe's list of messages", () => {
      const messages = ['username must be 3-32 characters of A-Z a-z 0-9 _ . -', 'property roles should not exist'];

      sut.catch(new BadRequestException(messages), hostFor(res));

      expect(res.statusCode).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, message: messages, error: 'Bad Request' });
    });

    it('shapes an exception built from a bare string with the status text as error', () => {
      sut.catch(new HttpException('Request body is too large', HttpStatus.PAYLOAD_TOO_LARGE), hostFor(res));

      expect(res.body).toEqual({ statusCode: 413, message: 'Request body is too large', error: 'Payload Too Large' });
    });
  });

  describe('other errors', () => {
    it('answers an unknown Error with 500 "Internal server error" and none of its message', () => {
      const secretMessage = 'EACCES: permission denied, open /srv/app/config/secrets.json password=hunter2';

      sut.catch(new Error(secretMessage), hostFor(res));

      expect(res.statusCode).toBe(500);
      expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
      expect(JSON.stringify(res.body)).not.toContain('hunter2');
    });

    it('logs the real cause of a 500 server-side', () => {
      const error = new TypeError('Cannot read properties of undefined');

      sut.catch(error, hostFor(res));

      expect(loggedErrors).toHaveBeenCalledWith(expect.any(String), error.stack);
    });

    it('answers a thrown non-Error value with 500', () => {
      sut.catch('a string was thrown', hostFor(res));

      expect(res.statusCode).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain('a string was thrown');
    });

    it.each(['MongoServerSelectionError', 'MongooseServerSelectionError', 'MongoNetworkError'])(
      'answers a %s with 503 without the driver message',
      (name) => {
        const error = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:27017'), { name });

        sut.catch(error, hostFor(res));

        expect(res.statusCode).toBe(503);
        expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
        expect(JSON.stringify(res.body)).not.toContain('10.0.0.5');
        expect(res.headers.get('retry-after')).toBe('5');
      },
    );
  });

  describe('state store (Redis) unavailable', () => {
    const SERVICE_UNAVAILABLE = {
      statusCode: 503,
      message: 'Service temporarily unavailable, try again shortly',
      error: 'Service Unavailable',
    };

    it.each<[string, unknown]>([
      ['a StateStoreUnavailableError', new StateStoreUnavailableError('Redis: connect ECONNREFUSED 10.0.0.6:6379')],
      ['an ioredis "Connection is closed." error', new Error('Connection is closed.')],
      ['an ioredis MaxRetriesPerRequestError', new MaxRetriesPerRequestError(1)],
      ['an ioredis command timeout', new Error('Command timed out')],
    ])('answers %s with 503, a generic message and Retry-After', (_label, error) => {
      sut.catch(error, hostFor(res));

      expect(res.statusCode).toBe(503);
      expect(res.body).toEqual(SERVICE_UNAVAILABLE);
      expect(res.headers.get('retry-after')).toBe('5');
    });

    it('sends none of the cause, but logs it server-side', () => {
      sut.catch(new StateStoreUnavailableError('Redis: connect ECONNREFUSED 10.0.0.6:6379'), hostFor(res));

      expect(JSON.stringify(res.body)).not.toContain('10.0.0.6');
      expect(JSON.stringify(res.body)).not.toContain('Redis');
      expect(loggedWarnings).toHaveBeenCalledWith(expect.stringContaining('10.0.0.6'));
    });

    it('sets no WWW-Authenticate header: the token was not judged', () => {
      sut.catch(new StateStoreUnavailableError('Redis: Connection is closed.'), hostFor(res));

      expect(res.headers.has('www-authenticate')).toBe(false);
    });

    it('leaves a Redis command error that is not about the connection a 500', () => {
      sut.catch(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'), hostFor(res));

      expect(res.statusCode).toBe(500);
      expect(JSON.stringify(res.body)).not.toContain('WRONGTYPE');
    });
  });

  describe('WWW-Authenticate', () => {
    it('says error="invalid_token" on a 401 for a presented token', () => {
      sut.catch(new InvalidTokenException(true), hostFor(res));

      expect(res.statusCode).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(res.body).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
    });

    it('keeps the "Access token expired" message of an expired token', () => {
      sut.catch(new InvalidTokenException(true, 'Access token expired'), hostFor(res));

      expect(res.body).toMatchObject({ statusCode: 401, message: 'Access token expired' });
    });

    it.each([
      ['no token was presented', new InvalidTokenException(false)],
      ['a plain UnauthorizedException', new UnauthorizedException('Invalid username or password')],
    ])('says only "Bearer" when %s', (_label, exception) => {
      sut.catch(exception, hostFor(res));

      expect(res.statusCode).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('is not set on other statuses', () => {
      sut.catch(new NotFoundException(), hostFor(res));

      expect(res.headers.has('www-authenticate')).toBe(false);
    });
  });

  describe('Retry-After', () => {
    it('is set, in seconds, from a TooManyRequestsException', () => {
      sut.catch(new TooManyRequestsException(42, 'Too many failed logins, try again later'), hostFor(res));

      expect(res.statusCode).toBe(429);
      expect(res.headers.get('retry-after')).toBe('42');
      expect(res.body).toEqual({
        statusCode: 429,
        message: 'Too many failed logins, try again later',
        error: 'Too Many Requests',
      });
    });
  });

  describe('a path that is not valid percent-encoding', () => {
    const MALFORMED = '/api/auth/sessions/%E0%A4%A';

    it("answers Express's 400 for it without quoting the path back", () => {
      // What Nest makes of the URIError Express's router throws for such a path parameter.
      sut.catch(new BadRequestException("Failed to decode param '%E0%A4%A'"), hostFor(res, MALFORMED));

      expect(res.body).toEqual({ statusCode: 400, message: MALFORMED_PATH, error: 'Bad Request' });
    });

    it('answers 400 whatever client error was raised for it', () => {
      sut.catch(new NotFoundException('Cannot DELETE /api/auth/sessions/%E0%A4%A'), hostFor(res, MALFORMED));

      expect(res.body).toEqual({ statusCode: 400, message: MALFORMED_PATH, error: 'Bad Request' });
    });

    it('leaves a well-formed path, and a malformed query string, to the exception raised', () => {
      sut.catch(new NotFoundException('Session not found'), hostFor(res, '/api/auth/sessions/x%20y?q=%E0%A4%A'));

      expect(res.body).toEqual({ statusCode: 404, message: 'Session not found', error: 'Not Found' });
    });

    it('leaves a server error a server error', () => {
      sut.catch(new Error('boom'), hostFor(res, MALFORMED));

      expect(res.statusCode).toBe(500);
    });
  });

  it('ends a response whose headers were already sent instead of writing a second body', () => {
    res.headersSent = true;

    sut.catch(new Error('failed mid-stream'), hostFor(res));

    expect(res.end).toHaveBeenCalled();
    expect(res.json).not.toHaveBeenCalled();
  });

  describe('a dependency connection lost under the driver', () => {
    it.each(['EPIPE', 'ECONNRESET'])('answers 503 for a bare socket error %s, without its text', (code) => {
      const error = Object.assign(new Error('This socket has been ended by the other party'), { code });

      sut.catch(error, hostFor(res));

      expect(res.statusCode).toBe(503);
      expect(JSON.stringify(res.body)).not.toContain('socket');
      expect(loggedErrors).not.toHaveBeenCalled();
    });

    it('still answers 500 for an unknown error', () => {
      sut.catch(Object.assign(new Error('boom'), { code: 'ERR_SOMETHING' }), hostFor(res));

      expect(res.statusCode).toBe(500);
    });
  });
});
