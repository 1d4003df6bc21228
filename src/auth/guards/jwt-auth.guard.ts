import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import passport from 'passport';
import { setAuthenticatedUser, type HttpRequest } from '../../common/http/http-request';
import { ResponseWriter, type HttpResponse } from '../../common/http/response-writer';
import { ACCESS_TOKEN_EXPIRED, InvalidTokenException } from '../../common/exceptions/invalid-token.exception';
import { extractAccessToken } from '../access-token.extractor';
import type { AuthenticatedUser } from '../../identity/authenticated-user';
import { CsrfPolicy } from '../csrf.policy';
import { FORWARD_AUTH_KEY } from '../../access/forward-auth.decorator';
import { IS_PUBLIC_KEY } from '../../access/public.decorator';
import { JWT_STRATEGY, JwtStrategy } from '../strategies/jwt.strategy';

/** On a forward-auth refusal (401): the error message, for proxies that do not pass the body on. */
export const AUTH_MESSAGE_HEADER = 'X-Auth-Message';

/** Our tokens are a few hundred bytes; anything far larger is refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Global guard (APP_GUARD): every route needs a live session unless it is marked @Public().
 *
 * It runs this application's own JwtStrategy through a passport Authenticator of its own, rather than
 * AuthGuard('jwt'), which looks the strategy up by name in passport's process-wide registry: with two
 * applications in one process (tests of several instances do exactly that), the one built last would
 * authenticate requests for both, with its own secret and database.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly authenticator = new passport.Authenticator();

  constructor(
    private readonly reflector: Reflector,
    private readonly csrfPolicy: CsrfPolicy,
    private readonly responses: ResponseWriter,
    strategy: JwtStrategy,
  ) {
    this.authenticator.use(JWT_STRATEGY, strategy);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;

    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    const res = http.getResponse<HttpResponse>();
    try {
      const presented = extractAccessToken(req);
      if (!presented) throw new InvalidTokenException(false);
      if (presented.token === null || presented.token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenException(true);

      setAuthenticatedUser(req, await this.authenticate(req, res));
      if (presented.source === 'cookie') this.csrfPolicy.assertCookieRequestAllowed(req, this.isForwardAuth(context));
      return true;
    } catch (error) {
      if (this.isForwardAuth(context)) {
        // A proxy that cached a refusal would go on refusing; verify's 204 is no-store by its own @Header.
        this.responses.setHeader(res, 'Cache-Control', 'no-store');
        // nginx's auth_request drops the body of a refusal: the header lets the proxy answer the same message.
        if (error instanceof InvalidTokenException) this.responses.setHeader(res, AUTH_MESSAGE_HEADER, error.message);
      }
      throw error;
    }
  }

  private isForwardAuth(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean>(FORWARD_AUTH_KEY, [context.getHandler(), context.getClass()]) === true
    );
  }

  private authenticate(req: HttpRequest, res: HttpResponse): Promise<AuthenticatedUser> {
    return new Promise((resolve, reject) => {
      const middleware = this.authenticator.authenticate(
        JWT_STRATEGY,
        { session: false },
        (err: unknown, user: AuthenticatedUser | false, info: unknown) => {
          // A failing session store is not the caller's fault: the exception filter answers 503.
          if (err) return reject(err);
          if (user) return resolve(user);
          // By name: passport-jwt may load its own copy of jsonwebtoken, so instanceof is not reliable.
          const expired = (info as Error | undefined)?.name === 'TokenExpiredError';
          reject(new InvalidTokenException(true, expired ? ACCESS_TOKEN_EXPIRED : undefined));
        },
      ) as (req: HttpRequest, res: HttpResponse, next: (err?: unknown) => void) => void;
      middleware(req, res, reject);
    });
  }
}
