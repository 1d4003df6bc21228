import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import { authConfig, type AuthConfig } from '../config';

const STATE_CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

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

  assertCookieRequestAllowed(req: HttpRequest): void {
    if (!STATE_CHANGING_METHODS.has(req.method)) return;
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new ForbiddenException('Cross-site request refused');
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (this.allowedOrigins.has(origin) || origin === `${req.protocol}://${req.headers.host ?? ''}`) return;
    throw new ForbiddenException('Cross-site request refused');
  }
}
