import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Clock } from '../common/clock/clock';
import { authConfig, type AuthConfig } from '../config';
import { AccessTokenSigner } from '../crypto/access-token-signer.service';
import { TokenCrypto } from '../crypto/token-crypto.service';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  roles: string[];
  /** Only in the asymmetric modes, where other services verify the tokens and check their issuer. */
  iss?: string;
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  expiresAt: Date;
}

/** Tolerated clock difference between instances for `iat`. */
export const CLOCK_SKEW_SECONDS = 60;
const OBJECT_ID = /^[a-f0-9]{24}$/;

@Injectable()
export class AccessTokenService {
  constructor(
    private readonly jwtService: JwtService,
    private readonly crypto: TokenCrypto,
    private readonly signer: AccessTokenSigner,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    private readonly clock: Clock,
  ) {}

  get lifetimeSeconds(): number {
    return Math.max(1, Math.round(this.config.accessTokenTtlMs / 1000));
  }

  /** `notAfter`: the session's end; a token never outlives its session, even unchecked. */
  async issue(
    userId: string,
    sessionId: string,
    roles: string[],
    notAfter: Date,
    now = this.clock.now(),
  ): Promise<IssuedAccessToken> {
    const untilSessionEnds = Math.floor((notAfter.getTime() - now) / 1000);
    const expiresIn = Math.max(1, Math.min(this.lifetimeSeconds, untilSessionEnds));
    const iat = Math.floor(now / 1000);
    const exp = iat + expiresIn;
    const claims = { sub: userId, sid: sessionId, roles, iat, exp };
    const accessToken = this.signer.asymmetric
      ? await this.signer.sign({ ...claims, jti: this.crypto.randomId(), iss: this.signer.issuer })
      : this.jwtService.sign(claims, { jwtid: this.crypto.randomId(), algorithm: 'HS256' });
    return { accessToken, expiresIn, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Whether a token whose signature has been verified is past its `exp` at `now` (ms), by jsonwebtoken's
   * own rule: expired from the second `exp` on. A payload without a numeric `exp` is not expired but
   * malformed, which parseClaims refuses.
   */
  hasExpired(payload: unknown, now = this.clock.now()): boolean {
    const exp = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>).exp : undefined;
    return typeof exp === 'number' && Math.floor(now / 1000) >= exp;
  }

  /**
   * The claims of a token whose signature and expiry the strategy has already verified, if they have
   * exactly the shapes this service mints; null for anything else (a token is refused, never repaired).
   */
  parseClaims(payload: unknown, nowSeconds = Math.floor(this.clock.now() / 1000)): AccessTokenClaims | null {
    if (typeof payload !== 'object' || payload === null) return null;
    const claims = payload as Record<string, unknown>;
    const { sub, sid, jti, iat, exp, roles } = claims;
    if (typeof sub !== 'string' || !OBJECT_ID.test(sub)) return null;
    if (typeof sid !== 'string' || !OBJECT_ID.test(sid)) return null;
    if (typeof jti !== 'string' || jti.length === 0) return null;
    if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp))
      return null;
    if (iat > nowSeconds + CLOCK_SKEW_SECONDS || exp <= iat) return null;
    // We never set nbf; a token that does must not be used early (jsonwebtoken checks it in HS256 mode,
    // jose's signature check in the asymmetric modes does not).
    const { nbf } = claims;
    if (
      nbf !== undefined &&
      (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > nowSeconds + CLOCK_SKEW_SECONDS)
    )
      return null;
    if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === 'string')) return null;
    if (this.signer.asymmetric) {
      if (claims.iss !== this.signer.issuer) return null;
      return { sub, sid, jti, iat, exp, roles, iss: this.signer.issuer };
    }
    return { sub, sid, jti, iat, exp, roles };
  }
}
