import { Inject, Injectable } from '@nestjs/common';
import { JsonWebTokenError, TokenExpiredError } from '@nestjs/jwt';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { Clock } from '../../common/clock/clock';
import type { HttpRequest } from '../../common/http/http-request';
import { authConfig, type AuthConfig } from '../../config';
import { AccessTokenSigner } from '../../crypto/access-token-signer.service';
import { TokenCrypto } from '../../crypto/token-crypto.service';
import { AccessTokenService } from '../access-token.service';
import { extractAccessToken } from '../access-token.extractor';
import { AuthService } from '../auth.service';
import type { AuthenticatedUser } from '../../identity/authenticated-user';

export const JWT_STRATEGY = 'jwt';
export const ACCESS_TOKEN_ALGORITHM = 'HS256';

/**
 * passport-jwt checks the signature (HS256 only: `none` and every other algorithm are refused);
 * in the asymmetric modes AccessTokenSigner does, since jsonwebtoken cannot verify EdDSA (see
 * authenticate);
 * `validate` then checks the expiry against the Clock and asks AuthService whether the token's session
 * is still live. A signature alone is not enough: that is the whole point of this service.
 *
 * The expiry is not left to passport-jwt: jsonwebtoken would compare `exp` with Date.now(), and
 * passport-jwt fixes its verify options once, at construction, so no per-request time can reach it.
 * An expired token fails with jsonwebtoken's own TokenExpiredError, exactly as if it had checked it.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    @Inject(authConfig.KEY) config: AuthConfig,
    crypto: TokenCrypto,
    private readonly authService: AuthService,
    private readonly accessTokens: AccessTokenService,
    private readonly clock: Clock,
    private readonly signer: AccessTokenSigner,
  ) {
    // passport-jwt hands this to jsonwebtoken.verify as is; its types predate KeyObject.
    const secret = crypto.secretKey(config.accessTokenSecret) as unknown as string;
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([(req: HttpRequest) => extractAccessToken(req)?.token ?? null]),
      // Asked with the raw token before jsonwebtoken verifies it. jsonwebtoken throws, instead of refusing,
      // on a correctly signed payload that is not an object (`null`): a 500. Such a token is refused here.
      secretOrKeyProvider: (_req: unknown, rawJwtToken: string, done: (error: Error | null, key?: string) => void) =>
        hasObjectPayload(rawJwtToken) ? done(null, secret) : done(new JsonWebTokenError('jwt malformed')),
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      // Checked in validate, against the Clock (see above); never skipped.
      ignoreExpiration: true,
    });
  }

  /**
   * HS256: passport-jwt's own flow. EdDSA / ES256: the same flow, with the signature checked by
   * AccessTokenSigner instead of jsonwebtoken; `validate` and the answers to passport are the same.
   */
  override authenticate(...args: Parameters<Strategy['authenticate']>): void {
    if (!this.signer.asymmetric) return super.authenticate(...args);
    const token = extractAccessToken(args[0] as unknown as HttpRequest)?.token;
    if (!token) return this.fail(new Error('No auth token'), 401);
    // Any JSON payload (null, an array) goes on to validate, whose claim checks refuse it.
    this.signer
      .verifySignature(token)
      .then(
        async (payload) => {
          const result = await this.validate(payload);
          if (Array.isArray(result)) return this.fail(result[1], 401);
          if (!result) return this.fail(undefined, 401);
          return this.success(result);
        },
        (error: Error) => this.fail(error, 401),
      )
      .catch((error: unknown) => this.error(error as Error));
  }

  /** `[false, info]`: a refusal with its reason, which passport hands to JwtAuthGuard. */
  async validate(payload: unknown): Promise<AuthenticatedUser | false | [false, TokenExpiredError]> {
    const now = this.clock.now();
    if (this.accessTokens.hasExpired(payload, now)) {
      const exp = (payload as { exp: number }).exp;
      return [false, new TokenExpiredError('jwt expired', new Date(exp * 1000))];
    }
    return (await this.authService.authenticateAccessToken(payload)) ?? false;
  }
}

function hasObjectPayload(token: string): boolean {
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload);
  } catch {
    return false;
  }
}
