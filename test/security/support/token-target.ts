import { randomBytes } from 'node:crypto';
import { createTestApp, type TestApp } from '../../support/test-app';
import { jwtPayload, registerAndLogin, type LoggedIn } from '../../support/http';
import { accessClaims, HS256_HEADER, signJwt, type JwtPart } from '../../support/jwt-forge';
import { expectNoLeak, UNAUTHORIZED } from './attack-kit';

/**
 * The target of the token suites (token-forgery, token-presentation): one app, two users (alice and
 * bob) each with a live session, and the check every refusal must pass.
 */

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
  readonly t: TestApp;
  readonly alice: Caller;
  readonly bob: Caller;
  newCaller(prefix: string): Promise<Caller>;
  /** Claims the server would mint for alice's live session, with overrides. */
  aliceClaims(overrides?: JwtPart): JwtPart;
  /** Signed exactly as the server signs (HS256, ACCESS_TOKEN_SECRET): only the claims are forged. */
  signedRight(payload: JwtPart): string;
  /**
   * On both protected routes: 401 with `expected` as the body, a challenge matching `challenge`, no
   * library, parser or framework words.
   */
  expectRefused(headers: Headers, expected?: object, challenge?: RegExp): Promise<void>;
}

/** Opens the app and the two callers in beforeAll and closes it in afterAll. */
export function tokenTarget(label: string): TokenTarget {
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
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', ACCESS_TOKEN_EXPIRY: '1d' }, label);
    [alice, bob] = await Promise.all([newCaller('alice'), newCaller('bob')]);
  });
  afterAll(async () => {
    await t?.close();
  });

  return {
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
    aliceClaims: (overrides = {}) => accessClaims(alice.sub, alice.sid, overrides),
    signedRight: (payload) => signJwt(HS256_HEADER, payload, t.secrets.access),
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
