import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessTokenVerifier } from './access-token.verifier';
import { extractAccessToken, type TokenCarrier } from './access-token.extractor';
import { attachPrincipal } from './auth-principal';
import { IS_PUBLIC_KEY } from './decorators/public.decorator';
import { ROLES_KEY } from './decorators/roles.decorator';
import { ACCESS_TOKEN_EXPIRED, serviceUnavailable, unauthorized } from './http-refusals';
import { RevocationFeedClient } from './revocation-feed.client';

/**
 * Global guard (APP_GUARD): every route needs a valid access token of an unrevoked session unless it is
 * marked @Public(). In order: the token itself (401), then whether the session is known revoked (401),
 * then whether the revocation set can be trusted right now (503), then the roles (403).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
    private readonly feed: RevocationFeedClient,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) return true;
    // HTTP only: a protected handler reached another way (RPC, WebSocket) is refused rather than let through.
    if (context.getType() !== 'http') return false;

    const http = context.switchToHttp();
    const request = http.getRequest<TokenCarrier>();
    const response = http.getResponse<unknown>();

    const presented = extractAccessToken(request);
    if (!presented) throw unauthorized(response, false);
    if (presented.token === null) throw unauthorized(response, true);

    const result = await this.verifier.verify(presented.token);
    if (result.status === 'invalid') throw unauthorized(response, true);
    if (result.status === 'expired') throw unauthorized(response, true, ACCESS_TOKEN_EXPIRED);
    if (result.status === 'unavailable') throw serviceUnavailable(response);

    const { principal } = result;
    // Revocation is final: a session the set holds is refused even while the feed is out of sync.
    if (this.feed.isRevoked(principal.sessionId)) throw unauthorized(response, true);
    if (!this.feed.isInSync()) throw serviceUnavailable(response);

    const required = this.reflector.getAllAndMerge<string[]>(ROLES_KEY, targets);
    if (!required.every((role) => principal.roles.includes(role))) throw new ForbiddenException('Insufficient role');

    attachPrincipal(request, principal);
    return true;
  }
}
