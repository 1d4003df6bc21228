import { randomBytes } from 'node:crypto';
import { createTestApp, type EnvOverrides, type TestApp } from '../../support/test-app';
import { jwtPayload, registerAndLogin, type LoggedIn } from '../../support/http';
import {
  accessClaims,
  base64UrlJson,
  HS256_HEADER,
  hmacSignature,
  keySignature,
  newSigningKey,
  pkcs8Pem,
  signJwt,
  signJwtWithKey,
  spkiPem,
  type AsymmetricAlgorithm,
  type JwtPart,
  type SigningKey,
} from '../../support/jwt-forge';
import { expectNoLeak, UNAUTHORIZED } from './attack-kit';

/**
 * The target of the token suites (token-forgery, token-presentation): one app, two users (alice and
 * bob) each with a live session, and the check every refusal must pass. The app signs its access
 * tokens in one of the service's modes: HS256 (ACCESS_TOKEN_SECRET) or EdDSA / ES256 (a private key).
 */

export type AccessTokenMode = 'HS256' | AsymmetricAlgorithm;
export const ACCESS_TOKEN_MODES: readonly AccessTokenMode[] = ['HS256', 'EdDSA', 'ES256'];
export const otherAlgorithm = (alg: AsymmetricAlgorithm): AsymmetricAlgorithm => (alg === 'EdDSA' ? 'ES256' : 'EdDSA');

/** The keys of an asymmetric mode, all in the app's environment. */
export interface AppSigningKeys {
  /** ACCESS_TOKEN_ISSUER: not the default, so that a hard-coded default would show. */
  issuer: string;
  /** ACCESS_TOKEN_PRIVATE_KEY. */
  active: SigningKey;
  /** ACCESS_TOKEN_PREVIOUS_KEYS, as a public PEM: the mode's algorithm. */
  retired: SigningKey;
  /** ACCESS_TOKEN_PREVIOUS_KEYS, as a private PEM: the mode's algorithm too (no other is accepted). */
  retiredPrivate: SigningKey;
}

export type Headers = Record<string, string>;
export const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` });
export const PROTECTED_ROUTES = ['/api/users/me', '/api/auth/verify'];
/** The challenge of a refused token: it names the error (RFC 6750 section 3.1). */
export const INVALID_TOKEN = /^Bearer\b.*error="invalid_token"/;

export interface Caller extends LoggedIn {
  sub: string;
  sid: string;
}

export interface TokenTarget {
  readonly mode: AccessTokenMode;
  /** Undefined in HS256 mode. */
  readonly keys: AppSigningKeys | undefined;
  readonly t: TestApp;
  readonly alice: Caller;
  readonly bob: Caller;
  newCaller(prefix: string): Promise<Caller>;
  /** Claims the server would mint for a session (with `iss` in the asymmetric modes), with overrides. */
  claims(sub: string, sid: string, overrides?: JwtPart): JwtPart;
  /** Claims the server would mint for alice's live session, with overrides. */
  aliceClaims(overrides?: JwtPart): JwtPart;
  /** The header the server writes: `{alg, typ}` in HS256 mode, `{alg, kid, typ}` otherwise. */
  header(): JwtPart;
  /** The signature the server would put on `signingInput` (its secret or its active private key). */
  signature(signingInput: string): string;
  /**
   * Signed exactly as the server signs (HS256 with ACCESS_TOKEN_SECRET, or the active private key):
   * only the claims, or the header when given, are forged.
   */
  signedRight(payload: JwtPart, header?: JwtPart): string;
  /**
   * The server's header, signed with a key the server does not have: the guessed secret "secret"
   * in HS256 mode, a fresh key of the mode's type otherwise.
   */
  signedWrong(payload: JwtPart): string;
  /**
   * On both protected routes: 401 with `expected` as the body, a challenge matching `challenge`, no
   * library, parser or framework words.
   */
  expectRefused(headers: Headers, expected?: object, challenge?: RegExp): Promise<void>;
}

function signingKeysOf(mode: AsymmetricAlgorithm): AppSigningKeys {
  return {
    issuer: 'https://auth.token-forgery.test',
    active: newSigningKey(mode),
    retired: newSigningKey(mode),
    retiredPrivate: newSigningKey(mode),
  };
}

function signingEnv(keys: AppSigningKeys): EnvOverrides {
  return {
    ACCESS_TOKEN_ALGORITHM: keys.active.alg,
    ACCESS_TOKEN_PRIVATE_KEY: pkcs8Pem(keys.active.privateKey),
    ACCESS_TOKEN_PREVIOUS_KEYS: spkiPem(keys.retired.publicKey) + pkcs8Pem(keys.retiredPrivate.privateKey),
    ACCESS_TOKEN_ISSUER: keys.issuer,
  };
}

/** Opens the app and the two callers in beforeAll and closes it in afterAll. The keys exist at once. */
export function tokenTarget(label: string, mode: AsymmetricAlgorithm): TokenTarget & { readonly keys: AppSigningKeys };
export function tokenTarget(label: string, mode?: AccessTokenMode): TokenTarget;
export function tokenTarget(label: string, mode: AccessTokenMode = 'HS256'): TokenTarget {
  const keys = mode === 'HS256' ? undefined : signingKeysOf(mode);
  const stranger = mode === 'HS256' ? undefined : newSigningKey(mode);
  let t: TestApp;
  let alice: Caller;
  let bob: Caller;
  const newCaller = async (prefix: string): Promise<Caller> => {
    const loggedIn = await registerAndLogin(t, `${prefix}_${randomBytes(4).toString('hex')}`);
    const claims = jwtPayload(loggedIn.accessToken);
    return { ...loggedIn, sub: claims.sub as string, sid: claims.sid as string };
  };

  beforeAll(async () => {
    // Dozens of requests go to /api/auth/*: the per-address rate limit is not what is tested here.
    // Alice's and Bob's access tokens serve the whole file, while the apps' Clock moves on by about a
    // minute per test (a fresh rate window each): they must outlive dozens of tests, not 15 minutes.
    const env = { AUTH_RATE_LIMIT: '0', ACCESS_TOKEN_EXPIRY: '1d', ...(keys ? signingEnv(keys) : {}) };
    t = await createTestApp(env, label);
    [alice, bob] = await Promise.all([newCaller('alice'), newCaller('bob')]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const header = (): JwtPart =>
    keys ? { alg: keys.active.alg, kid: keys.active.kid, typ: 'JWT' } : { ...HS256_HEADER };
  const signature = (signingInput: string): string =>
    keys ? keySignature(signingInput, keys.active.privateKey) : hmacSignature(signingInput, t.secrets.access);
  const claims = (sub: string, sid: string, overrides: JwtPart = {}): JwtPart =>
    accessClaims(sub, sid, keys ? { iss: keys.issuer, ...overrides } : overrides);

  return {
    mode,
    keys,
    get t() {
      return t;
    },
    get alice() {
      return alice;
    },
    get bob() {
      return bob;
    },
    newCaller,
    claims,
    aliceClaims: (overrides = {}) => claims(alice.sub, alice.sid, overrides),
    header,
    signature,
    signedRight(payload, head = header()) {
      const signingInput = `${base64UrlJson(head)}.${base64UrlJson(payload)}`;
      return `${signingInput}.${signature(signingInput)}`;
    },
    signedWrong: (payload) =>
      stranger ? signJwtWithKey(header(), payload, stranger.privateKey) : signJwt(HS256_HEADER, payload, 'secret'),
    async expectRefused(headers, expected = UNAUTHORIZED, challenge = INVALID_TOKEN) {
      for (const route of PROTECTED_ROUTES) {
        const res = await t.http().get(route).set(headers);
        expectNoLeak(res, route);
        expect({ route, status: res.status, body: res.body }).toEqual({ route, status: 401, body: expected });
        expect({ route, challenge: res.headers['www-authenticate'] }).toEqual({
          route,
          challenge: expect.stringMatching(challenge),
        });
      }
    },
  };
}
