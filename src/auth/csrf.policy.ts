import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import { authConfig, type AuthConfig } from '../config';

const STATE_CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Where forward-auth proxies put the method of the request they are authorizing. */
const ORIGINAL_METHOD_HEADERS = ['x-forwarded-method', 'x-original-method'] as const;

/**
 * Cookies ride along on cross-site requests; a bearer header never does. So a state-changing request
 * authenticated by a cookie must come from an allowed origin: refused when the browser says it is
 * cross-site, or when its Origin is neither in CORS_ORIGINS nor this server's own.
 */
@Injectable()
export class CsrfPolicy {
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(@Inject(authConfig.KEY) config: AuthConfig) {
    this.allowedOrigins = new Set(config.corsOrigins);
  }

  /**
   * `forwarded`: the request is a proxy's authorization of another one, whose method the proxy names in
   * a header. Such a header can only make the check stricter: absent, or naming a safe method, the
   * request's own method (GET) decides.
   */
  assertCookieRequestAllowed(req: HttpRequest, forwarded = false): void {
    const methods = forwarded ? [req.method, ...originalMethods(req)] : [req.method];
    if (!methods.some((method) => STATE_CHANGING_METHODS.has(method))) return;
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new ForbiddenException('Cross-site request refused');
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (this.allowedOrigins.has(origin) || origin === `${req.protocol}://${req.headers.host ?? ''}`) return;
    throw new ForbiddenException('Cross-site request refused');
  }
}

function originalMethods(req: HttpRequest): string[] {
  return ORIGINAL_METHOD_HEADERS.flatMap((name) => {
    const value = req.headers[name];
    // A repeated header arrives joined with commas: every method named counts.
    return (Array.isArray(value) ? value : value === undefined ? [] : [value])
      .flatMap((list) => list.split(','))
      .map((method) => method.trim().toUpperCase());
  });
}
