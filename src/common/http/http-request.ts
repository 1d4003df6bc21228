import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AuthenticatedUser } from '../../identity/authenticated-user';

/**
 * What the application reads from a request, on either HTTP adapter: Express's `Request` and
 * Fastify's `FastifyRequest` (with @fastify/cookie) both have these members. Code outside the
 * platform files takes this type, so that nothing depends on which adapter serves it.
 */
export interface HttpRequest {
  readonly method: string;
  /** The request target as received: path and query string. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed by cookie-parser (Express) or @fastify/cookie (Fastify). */
  readonly cookies?: Record<string, unknown>;
  /** The client's address, as the trust-proxy setting allows it to be known. */
  readonly ip?: string;
  readonly protocol: string;
  body?: unknown;
  /** Set by the guard once the access token is verified and its session found live. */
  user?: AuthenticatedUser;
  /** Fastify's underlying Node.js request; absent on Express, whose request is the Node.js one. */
  readonly raw?: IncomingMessage;
}

/** The path of a request, without its query string. */
export function requestPath(req: Pick<HttpRequest, 'url'>): string {
  const query = req.url.indexOf('?');
  return query === -1 ? req.url : req.url.slice(0, query);
}

/** The answer to a path that is not valid percent-encoding, on either adapter. */
export const MALFORMED_PATH = 'The request path is not valid percent-encoding';

/** Whether the path (query string aside) fails to decode, as a router decodes its parameters. */
export function hasMalformedPath(req: Pick<HttpRequest, 'url'>): boolean {
  try {
    decodeURIComponent(requestPath(req));
    return false;
  } catch {
    return true;
  }
}

/**
 * Records who made the request: for the handler (`@CurrentUser()`) and for the request logger, which
 * sees the Node.js request on both adapters (on Fastify that is `raw`, not the request handlers get).
 */
export function setAuthenticatedUser(req: HttpRequest, user: AuthenticatedUser): void {
  req.user = user;
  if (req.raw) (req.raw as IncomingMessage & { user?: AuthenticatedUser }).user = user;
}
