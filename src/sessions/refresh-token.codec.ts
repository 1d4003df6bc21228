import { Inject, Injectable } from '@nestjs/common';
import { authConfig, type AuthConfig } from '../config';
import { TokenCrypto } from '../crypto/token-crypto.service';

export interface DecodedRefreshToken {
  sessionId: string;
  generation: number;
}

/** `<session id>.<generation>.<HMAC-SHA256(REFRESH_TOKEN_SECRET, "refresh:<session id>.<generation>")>` */
// The generation is written canonically (no leading zeros): exactly one string per token.
const REFRESH_TOKEN_PATTERN = /^([a-f0-9]{24})\.(0|[1-9]\d{0,8})\.([A-Za-z0-9_-]{43})$/;

/**
 * Refresh tokens are opaque to clients and deterministic for the server: the token of a session's
 * generation N can be derived again from the secret, so nothing but its hash has to be stored, and a
 * token that was not minted here (no valid MAC) is told apart from a genuine but stale one.
 */
@Injectable()
export class RefreshTokenCodec {
  constructor(
    private readonly crypto: TokenCrypto,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  encode(sessionId: string, generation: number): string {
    return `${sessionId}.${generation}.${this.mac(sessionId, generation)}`;
  }

  /** The token's session and generation if it is well formed and was minted with our secret. */
  decode(token: unknown): DecodedRefreshToken | null {
    if (typeof token !== 'string') return null;
    const match = REFRESH_TOKEN_PATTERN.exec(token);
    if (!match) return null;
    const [, sessionId, generationText, mac] = match;
    const generation = Number(generationText);
    if (!this.crypto.equals(mac, this.mac(sessionId, generation))) return null;
    return { sessionId, generation };
  }

  hash(token: string): string {
    return this.crypto.digest(token);
  }

  private mac(sessionId: string, generation: number): string {
    return this.crypto.hmac(this.config.refreshTokenSecret, `refresh:${sessionId}.${generation}`);
  }
}
