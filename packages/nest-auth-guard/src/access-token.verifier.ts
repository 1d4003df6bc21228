import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { AuthPrincipal } from './auth-principal';
import { AUTH_GUARD_OPTIONS, type ResolvedAuthGuardOptions } from './auth-guard.options';

export type VerificationResult =
  | { status: 'valid'; principal: AuthPrincipal; payload: JWTPayload }
  /** Forged, malformed, for another issuer, unknown key...: the caller's problem (401). */
  | { status: 'invalid'; reason: string }
  /** Signed by a known key, well-formed, but past `exp` (401, the client should refresh). */
  | { status: 'expired' }
  /** The key set could not be fetched: nobody can tell whether the token is good (503). */
  | { status: 'unavailable'; reason: string };

/** The auth service's tokens are a few hundred bytes; far larger ones are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
/** Verified tokens remembered at once: a few MB at most. */
const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_MS = 60_000;

type VerifiedToken = Extract<VerificationResult, { status: 'valid' }>;

const SESSION_ID = /^[0-9a-f]{24}$/i;

/**
 * jose error codes that mean the token itself is at fault. Any other failure (JWKS timeout, network
 * error, non-200 or malformed key set) is the guard being unable to know, which must not read as 401.
 */
const TOKEN_FAULTS = new Set([
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

/**
 * Verifies access tokens locally against the auth service's JWKS: signature (allow-listed algorithms,
 * key chosen by `kid` from the remote set only), `typ`, `iss`, `exp` and `iat` with tolerance, and the
 * shape of the claims the guard relies on. Revocation is the feed's business, not this class's.
 */
@Injectable()
export class AccessTokenVerifier {
  /**
   * jose's remote set: cached for jwksCacheMaxAgeMs, refetched on an unknown `kid` at most once per
   * cooldown (concurrent misses share one fetch). It only ever reads `kid` and `alg` from the header,
   * so `jwk`, `jku`, `x5u` or `x5c` in a token are never used to find a key.
   */
  private readonly keySet: ReturnType<typeof createRemoteJWKSet>;

  constructor(@Inject(AUTH_GUARD_OPTIONS) private readonly options: ResolvedAuthGuardOptions) {
    this.keySet = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.jwksCooldownMs,
      cacheMaxAge: options.jwksCacheMaxAgeMs,
      [customFetch]: options.fetch,
    });
  }

  /**
   * Tokens whose signature and claims were verified, by their exact text: a client sends the same token
   * with every request until it refreshes, and verifying its signature each time is most of what the
   * guard costs. Kept until the token's `exp` and at most a minute, so that a key removed from the set
   * stops verifying within the set's cache age plus a minute; the oldest go first beyond the size
   * bound. Revocation is not cached: the guard asks the feed on every request.
   */
  private readonly verified = new Map<string, { result: VerifiedToken; expMs: number; keepUntilMs: number }>();

  async verify(token: string): Promise<VerificationResult> {
    const nowMs = Date.now();
    const cached = this.verified.get(token);
    if (cached && nowMs < cached.keepUntilMs) {
      return nowMs < cached.expMs + this.options.clockToleranceSeconds * 1000 ? cached.result : { status: 'expired' };
    }
    if (cached) this.verified.delete(token);
    const result = await this.verifyUncached(token);
    if (result.status === 'valid') this.remember(token, result, nowMs);
    return result;
  }

  private remember(token: string, result: VerifiedToken, nowMs: number): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(token, {
      result,
      expMs: (result.payload.exp as number) * 1000,
      keepUntilMs: nowMs + VERIFIED_CACHE_MS,
    });
  }

  private async verifyUncached(token: string): Promise<VerificationResult> {
    if (token.length > MAX_TOKEN_LENGTH) return invalid('token too long');
    let kid: unknown;
    let alg: unknown;
    try {
      ({ kid, alg } = decodeProtectedHeader(token));
    } catch {
      return invalid('malformed token');
    }
    // Checked before any key lookup, so that a token that can never pass costs no JWKS fetch.
    if (typeof alg !== 'string' || !(this.options.algorithms as readonly string[]).includes(alg)) {
      return invalid(`algorithm ${String(alg)} not allowed`);
    }
    // The auth service always names its key; without a kid, jose would have to guess among several.
    if (typeof kid !== 'string' || kid === '') return invalid('no kid');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySet, {
        algorithms: [...this.options.algorithms],
        issuer: this.options.issuer,
        typ: 'JWT',
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'roles'],
      }));
    } catch (error) {
      return this.classify(error);
    }

    // jose only checks `iat` against the clock when asked for a maximum age: a token from the future is refused here.
    const now = Math.floor(Date.now() / 1000);
    if ((payload.iat as number) > now + this.options.clockToleranceSeconds) return invalid('iat in the future');
    const principal = toPrincipal(payload);
    return principal ? { status: 'valid', principal, payload } : invalid('unexpected claim shapes');
  }

  private classify(error: unknown): VerificationResult {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ERR_JWT_EXPIRED') {
      // Signature and issuer were checked before exp; "expired" is only said of an otherwise valid token.
      const payload = (error as { payload?: JWTPayload }).payload;
      return payload && toPrincipal(payload) ? { status: 'expired' } : invalid('expired, with unexpected claims');
    }
    if (typeof code === 'string' && TOKEN_FAULTS.has(code)) return invalid(`${code}: ${message}`);
    return { status: 'unavailable', reason: `${typeof code === 'string' ? code : 'error'}: ${message}` };
  }
}

/** The claims the guard hands on, if they have the shapes the auth service issues; undefined otherwise. */
function toPrincipal(payload: JWTPayload): AuthPrincipal | undefined {
  const { sub, sid, roles } = payload as { sub?: unknown; sid?: unknown; roles?: unknown };
  if (typeof sub !== 'string' || sub === '') return undefined;
  if (typeof sid !== 'string' || !SESSION_ID.test(sid)) return undefined;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return undefined;
  // Lowercase, as the feed's session ids are compared after the same normalisation.
  return Object.freeze({ id: sub, sessionId: sid.toLowerCase(), roles: Object.freeze([...(roles as string[])]) });
}

function invalid(reason: string): VerificationResult {
  return { status: 'invalid', reason };
}
