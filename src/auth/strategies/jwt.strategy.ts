import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { HttpRequest } from '../../common/http/http-request';
import { authConfig, type AuthConfig } from '../../config';
import { TokenCrypto } from '../../crypto/token-crypto.service';
import { extractAccessToken } from '../access-token.extractor';
import { AuthService } from '../auth.service';
import type { AuthenticatedUser } from '../../identity/authenticated-user';

export const JWT_STRATEGY = 'jwt';
export const ACCESS_TOKEN_ALGORITHM = 'HS256';

/**
 * passport-jwt checks the signature (HS256 only: `none` and every other algorithm are refused) and
 * expiry; `validate` then asks AuthService whether the token's session is still live. A signature
 * alone is not enough: that is the whole point of this service.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    @Inject(authConfig.KEY) config: AuthConfig,
    crypto: TokenCrypto,
    private readonly authService: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([(req: HttpRequest) => extractAccessToken(req)?.token ?? null]),
      // passport-jwt hands this to jsonwebtoken.verify as is; its types predate KeyObject.
      secretOrKey: crypto.secretKey(config.accessTokenSecret) as unknown as string,
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      ignoreExpiration: false,
    });
  }

  async validate(payload: unknown): Promise<AuthenticatedUser | false> {
    return (await this.authService.authenticateAccessToken(payload)) ?? false;
  }
}
