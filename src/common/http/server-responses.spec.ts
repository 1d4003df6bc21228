import { Logger } from '@nestjs/common';
import type { Duplex } from 'node:stream';
import { answerClientError } from './server-responses';
import { SECURITY_HEADERS } from './security-headers';

interface FakeSocket {
  writable: boolean;
  written: string[];
  destroyed: unknown[];
  _httpMessage?: { headersSent: boolean };
}

function fakeSocket(overrides: Partial<FakeSocket> = {}): FakeSocket & Duplex {
  const socket: FakeSocket = { writable: true, written: [], destroyed: [], ...overrides };
  return Object.assign(socket, {
    write: (chunk: string) => socket.written.push(chunk),
    destroy: (error: unknown) => socket.destroyed.push(error),
  }) as unknown as FakeSocket & Duplex;
}

function parserError(code: string): Error & { code: string } {
  return Object.assign(new Error(`Parse Error: ${code}`), { code });
}

describe(answerClientError.name, () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'Payload Too Large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout'],
    ['HPE_INVALID_METHOD', 400, 'Bad Request'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 400, 'Bad Request'],
  ])('answers %s with %d in the contract shape, then closes', (code, status, reason) => {
    const socket = fakeSocket();
    const error = parserError(code);

    answerClientError(error, socket);

    const [response] = socket.written;
    const [head, body] = response.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${reason}`);
    expect(JSON.parse(body)).toEqual({ statusCode: status, message: expect.any(String), error: reason });
    expect(head).toContain('\r\nX-Content-Type-Options: nosniff');
    expect(head).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}/);
    expect(head).toContain('\r\nConnection: close');
    expect(head).toContain(`\r\nContent-Length: ${Buffer.byteLength(body)}`);
    expect(socket.destroyed).toEqual([error]);
  });

  it.each([
    ['a reset connection', parserError('ECONNRESET'), {}],
    ['a socket no longer writable', parserError('HPE_INVALID_METHOD'), { writable: false }],
    ['a response already begun', parserError('HPE_INVALID_METHOD'), { _httpMessage: { headersSent: true } }],
  ])('writes nothing on %s, and closes', (_label, error, overrides) => {
    const socket = fakeSocket(overrides);

    answerClientError(error, socket);

    expect(socket.written).toEqual([]);
    expect(socket.destroyed).toEqual([error]);
  });
});

describe('SECURITY_HEADERS', () => {
  it("are Helmet's, nosniff among them", () => {
    expect(SECURITY_HEADERS).toContainEqual(['X-Content-Type-Options', 'nosniff']);
    expect(SECURITY_HEADERS.map(([name]) => name)).toContain('Content-Security-Policy');
  });
});
