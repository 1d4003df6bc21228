import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { REQUEST_ID_HEADER, requestIdOf } from '../../logging/request-logging';
import { SECURITY_HEADERS } from './security-headers';

const logger = new Logger('HttpServer');

/** Parser errors Node.js names, with the status Node.js itself would answer; any other is a 400. */
const PARSER_ERRORS: Record<string, [status: number, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request headers are too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Chunk extensions are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timed out'],
};
const MALFORMED_REQUEST: [number, string] = [400, 'Malformed HTTP request'];
export const JSON_TYPE = 'application/json; charset=utf-8';

/** The request's id, which the request log takes as it is. */
type IdentifiedRequest = IncomingMessage & { id?: string };

/**
 * Every response carries the security headers and an X-Request-Id, whichever adapter, plugin or layer
 * writes it: they are set on the Node.js response before the framework sees the request, so CORS
 * preflights, 404s without a route and the frameworks' own errors carry them too. The id is kept on the
 * request as `req.id`, which the request logger takes as it is.
 * Requests that never become a request (the parser refused them, or an Expect the server cannot meet)
 * are answered here in the contract's shape; Express gets `answerClientError` for its 'clientError'
 * event from express.platform.ts, Fastify as its clientErrorHandler.
 */
export function installServerResponses(server: Server): void {
  server.prependListener('request', writeCommonHeaders);
  // Handling it stops Node.js from answering a bare 417 itself; the request event is not emitted then.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    writeCommonHeaders(req, res);
    // The body the client may send anyway is not read: the connection cannot be reused.
    res.setHeader('Connection', 'close');
    const body = errorBody(417, 'Only "Expect: 100-continue" is supported');
    res.writeHead(417, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/** The id this request's response carries: Fastify takes it as its own request id (genReqId). */
export function requestIdFor(req: IncomingMessage): string {
  return (req as IdentifiedRequest).id ?? requestIdOf(req);
}

/**
 * A request Node.js's parser refused (malformed, headers over its limit, too slow): answered as Node.js
 * would (431, 413, 408 or 400, then the connection closed), with the contract's body and headers. The
 * client's own X-Request-Id cannot be read, so the id is a server UUID, logged with the refusal.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // As Node.js does: nobody to answer on a reset connection, and a response already begun on this
  // connection must not be corrupted by another one.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const [status, message] = PARSER_ERRORS[error.code ?? ''] ?? MALFORMED_REQUEST;
    const id = randomUUID();
    logger.debug(`Refused by the HTTP parser: ${status} (${error.code ?? error.name}), request id ${id}`);
    socket.write(rawResponse(status, message, id));
  }
  socket.destroy(error);
}

function writeCommonHeaders(req: IncomingMessage, res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
  const id = requestIdOf(req);
  (req as IdentifiedRequest).id = id;
  res.setHeader(REQUEST_ID_HEADER, id);
}

export function errorBody(status: number, message: string): string {
  return JSON.stringify({ statusCode: status, message, error: STATUS_CODES[status] ?? 'Error' });
}

function rawResponse(status: number, message: string, requestId: string): string {
  const body = errorBody(status, message);
  const headers: Array<readonly [string, string]> = [
    ...SECURITY_HEADERS,
    [REQUEST_ID_HEADER, requestId],
    ['Content-Type', JSON_TYPE],
    ['Content-Length', String(Buffer.byteLength(body))],
    ['Connection', 'close'],
  ];
  const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`;
}
