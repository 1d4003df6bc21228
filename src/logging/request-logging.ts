import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuthenticatedUser } from '../identity/authenticated-user';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A client's own request id is kept when it is this plain; anything else is replaced. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The Node.js request as this module sees it: its id (set with the response header) and who made it. */
export type LoggedRequest = IncomingMessage & { id?: string; user?: AuthenticatedUser };

/** The client's own request id when it is plain enough to log, a new UUID otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  return typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
}

/** The path only: a query string may carry anything, tokens included (they are refused, not logged). */
function pathOf(url: string | undefined): string {
  if (!url) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : `${url.slice(0, query)}?[redacted]`;
}

function describeRequest(req: LoggedRequest) {
  return { id: req.id, method: req.method, url: pathOf(req.url), remoteAddress: req.socket?.remoteAddress };
}

/**
 * The request being served, for the lines logged while serving it. A child logger per request (what
 * pino-http does) serialises the request on every request, logged or not; here it is described only
 * when a line is written, by the logger's mixin.
 */
const currentRequest = new AsyncLocalStorage<LoggedRequest>();

/** pino `mixin`: the request id (and method, path) on every line logged while serving a request. */
export function requestLogFields(): { req?: ReturnType<typeof describeRequest> } {
  const req = currentRequest.getStore();
  return req ? { req: describeRequest(req) } : {};
}

/**
 * One line per request when it ends, with its id, status, duration and, once the guard knows them, the
 * user and session; a request the client abandoned is logged as such. Installed on the Node.js server,
 * so that every request is logged on either adapter, those the framework refuses before routing
 * included (what the HTTP parser itself refuses is logged where it is answered, server-responses.ts).
 * Every 'request' listener runs with the request as the current one, and so does what they start; after
 * them the connection holds no request (a later parser refusal on it is logged outside any).
 */
export function installRequestLogging(server: Server, logger: Logger): void {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean =>
    event === 'request'
      ? currentRequest.run(args[0] as LoggedRequest, () => emit(event, ...args))
      : emit(event, ...args)) as Server['emit'];

  server.prependListener('request', (req: LoggedRequest, res: ServerResponse) => {
    if (!logger.isLevelEnabled('info')) return;
    const startedAt = performance.now();
    res.once('close', () => {
      const line = {
        req: describeRequest(req),
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - startedAt),
        ...(req.user ? { userId: req.user.userId, sessionId: req.user.sessionId } : {}),
      };
      if (res.writableFinished) logger.info(line, 'request completed');
      else logger.warn(line, 'request aborted');
    });
  });
}
