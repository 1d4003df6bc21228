import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import {
  ACCESS_TOKEN_EXPIRED,
  InvalidTokenException,
} from '../../common/exceptions/invalid-token.exception';
import { extractAccessToken } from '../access-token.extractor';
import type { AuthenticatedUser } from '../authenticated-user';
import { CsrfPolicy } from '../csrf.policy';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';
import { JWT_STRATEGY } from '../strategies/jwt.strategy';

/** Our tokens are a few hundred bytes; anything far larger is refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;

/** Global guard (APP_GUARD): every route needs a live session unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard(JWT_STRATEGY) {
  constructor(
    private readonly reflector: Reflector,
    private readonly csrfPolicy: CsrfPolicy,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;

    const req = context.switchToHttp().getRequest<Request>();
    const presented = extractAccessToken(req);
    if (!presented) throw new InvalidTokenException(false);
    if (presented.token === null || presented.token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenException(true);

    await (super.canActivate(context) as Promise<boolean>);
    if (presented.source === 'cookie') this.csrfPolicy.assertCookieRequestAllowed(req);
    return true;
  }

  override handleRequest<TUser = AuthenticatedUser>(err: unknown, user: TUser | false, info: unknown): TUser {
    // A failing session store is not the caller's fault: the exception filter answers 503 for it.
    if (err) throw err;
    if (user) return user;
    // By name: passport-jwt may load its own copy of jsonwebtoken, so instanceof is not reliable.
    if ((info as Error | undefined)?.name === 'TokenExpiredError') throw new InvalidTokenException(true, ACCESS_TOKEN_EXPIRED);
    throw new InvalidTokenException(true);
  }
}
