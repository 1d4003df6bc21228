import { randomBytes } from 'node:crypto';
import { createTestApp, type TestApp } from './support/test-app';
import { jwtPayload, registerAndLogin, setCookieHeaders, type LoggedIn } from './support/auth-helpers';
import {
  accessClaims,
  HS256_HEADER,
  hmacSignature,
  nowSeconds,
  signJwt,
  unsignedJwt,
  withoutClaims,
  withTamperedPayload,
  type JwtPart,
} from './support/jwt-forge';

/**
 * Forged and misused access tokens. Every refusal must look the same from outside: 401, the generic
 * body, `WWW-Authenticate: Bearer error="invalid_token"`, and no word from the JWT library.
 */

// Registration hashes with argon2; under a parallel run the setup can outlast Jest's 5 s default.
jest.setTimeout(30_000);

const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };
const EXPIRED = { statusCode: 401, message: 'Access token expired', error: 'Unauthorized' };
const LIBRARY_MESSAGES =
  /jwt (malformed|expired|not active|must be|signature)|invalid (signature|algorithm|token)|signature is required|Unexpected token|JsonWebTokenError|TokenExpiredError/i;
const PROTECTED_ROUTES = ['/api/users/me', '/api/auth/verify'];

type Headers = Record<string, string>;
const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` });

interface Caller extends LoggedIn {
  sub: string;
  sid: string;
}

describe('forged and misused access tokens', () => {
  let t: TestApp;
  let alice: Caller;
  let bob: Caller;

  async function newCaller(prefix: string): Promise<Caller> {
    const loggedIn = await registerAndLogin(t, `${prefix}_${randomBytes(4).toString('hex')}`);
    const claims = jwtPayload(loggedIn.accessToken);
    return { ...loggedIn, sub: claims.sub as string, sid: claims.sid as string };
  }

  /** Signed exactly as the server signs (HS256, ACCESS_TOKEN_SECRET): only the claims are forged. */
  const signedRight = (payload: JwtPart): string => signJwt(HS256_HEADER, payload, t.secrets.access);

  /** Both protected routes refuse the request with the given body and an invalid_token challenge. */
  async function expectRefused(headers: Headers, expected: object = UNAUTHORIZED): Promise<void> {
    for (const route of PROTECTED_ROUTES) {
      const res = await t.http().get(route).set(headers);
      expect({ route, status: res.status, body: res.body }).toEqual({ route, status: 401, body: expected });
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(res.text).not.toMatch(LIBRARY_MESSAGES);
    }
  }

  function expectNoTokenIssued(res: { body: Record<string, unknown>; headers: Record<string, unknown> }): void {
    expect(res.body).not.toHaveProperty('accessToken');
    expect(res.body).not.toHaveProperty('refreshToken');
    expect(setCookieHeaders(res).filter((line) => /^(accessToken|refreshToken)=[^;]/.test(line))).toEqual([]);
  }

  beforeAll(async () => {
    // Dozens of requests go to /api/auth/verify: the per-address rate limit is not what is tested here.
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'tokens');
    alice = await newCaller('alice');
    bob = await newCaller('bob');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('positive control: the forgery helpers produce what the server accepts', () => {
    it('accepts a self-signed HS256 token with real sub, live sid, jti, iat, exp and roles', async () => {
      const token = signedRight(accessClaims(alice.sub, alice.sid));
      const me = await t.http().get('/api/users/me').set(bearer(token)).expect(200);
      expect(me.body).toMatchObject({ id: alice.sub, username: alice.username });
      const verify = await t.http().get('/api/auth/verify').set(bearer(token)).expect(204);
      expect(verify.headers).toMatchObject({ 'x-user-id': alice.sub, 'x-session-id': alice.sid });
    });

    it.each(['bearer', 'BEARER', 'bEaReR'])('accepts the scheme spelled %s (case-insensitive)', async (scheme) => {
      await t.http().get('/api/users/me').set('Authorization', `${scheme} ${alice.accessToken}`).expect(200);
    });
  });

  describe('alg "none" is refused in every spelling', () => {
    const spellings = ['none', 'None', 'NONE', 'nOnE'];

    it.each(spellings)('alg %s with an empty signature', async (alg) => {
      await expectRefused(bearer(unsignedJwt({ alg, typ: 'JWT' }, accessClaims(alice.sub, alice.sid))));
    });

    it.each(spellings)('alg %s with a signature (HMAC-SHA256 with the right secret)', async (alg) => {
      const header = { alg, typ: 'JWT' };
      const claims = accessClaims(alice.sub, alice.sid);
      const unsigned = unsignedJwt(header, claims).slice(0, -1);
      await expectRefused(bearer(`${unsigned}.${hmacSignature(unsigned, t.secrets.access)}`));
    });
  });

  describe('only HS256 with ACCESS_TOKEN_SECRET is a valid signature', () => {
    it('refuses a real token with its signature stripped', async () => {
      const [header, payload] = alice.accessToken.split('.');
      await expectRefused(bearer(`${header}.${payload}.`));
    });

    it.each(['HS384', 'HS512'] as const)('refuses the same claims signed %s with the right secret', async (alg) => {
      await expectRefused(
        bearer(signJwt({ alg, typ: 'JWT' }, accessClaims(alice.sub, alice.sid), t.secrets.access, alg)),
      );
    });

    it.each([
      ['the refresh secret', () => t.secrets.refresh],
      ['an empty secret', () => ''],
      ['the guessed secret "secret"', () => 'secret'],
      ['the guessed secret "changeme"', () => 'changeme'],
    ])('refuses HS256 signed with %s', async (_name, secret) => {
      await expectRefused(bearer(signJwt(HS256_HEADER, accessClaims(alice.sub, alice.sid), secret())));
    });

    const attackerKey = 'attacker-controlled-key-0123456789abcdef';
    it.each([
      ['kid pointing at a file', { kid: '../../../../../../dev/null' }, ''],
      ['jku pointing at a foreign key set', { jku: 'https://attacker.example/.well-known/jwks.json' }, attackerKey],
      ['x5u pointing at a foreign certificate', { x5u: 'https://attacker.example/cert.pem' }, attackerKey],
      [
        'jwk embedding the signing key',
        { jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } },
        attackerKey,
      ],
    ])('refuses a header with %s, signed with a wrong key', async (_name, extraHeader, key) => {
      await expectRefused(
        bearer(signJwt({ ...HS256_HEADER, ...extraHeader }, accessClaims(alice.sub, alice.sid), key)),
      );
    });
  });

  describe("a real token's payload cannot be edited (original signature kept)", () => {
    it.each([
      ["sub changed to another real user's id", (p: JwtPart) => ({ ...p, sub: bob.sub })],
      ["sid swapped to another user's live session", (p: JwtPart) => ({ ...p, sid: bob.sid })],
      ['roles changed to ["admin"]', (p: JwtPart) => ({ ...p, roles: ['admin'] })],
    ])('refuses %s', async (_name, change) => {
      await expectRefused(bearer(withTamperedPayload(alice.accessToken, change)));
    });
  });

  describe('a valid HS256 signature does not make claims the server never minted acceptable', () => {
    const unknownObjectId = () => randomBytes(12).toString('hex');
    it.each([
      ['sid missing', () => withoutClaims(accessClaims(alice.sub, alice.sid), 'sid')],
      ['sub missing', () => withoutClaims(accessClaims(alice.sub, alice.sid), 'sub')],
      ['sub a number', () => accessClaims(alice.sub, alice.sid, { sub: 12345 })],
      ['sub an object', () => accessClaims(alice.sub, alice.sid, { sub: { $ne: null } })],
      ['sid a number', () => accessClaims(alice.sub, alice.sid, { sid: 12345 })],
      ['sid an object', () => accessClaims(alice.sub, alice.sid, { sid: { $ne: null } })],
      ['sid of a session that does not exist', () => accessClaims(alice.sub, unknownObjectId())],
      ["sub of user A with the sid of user B's live session", () => accessClaims(alice.sub, bob.sid)],
      ['nbf an hour in the future', () => accessClaims(alice.sub, alice.sid, { nbf: nowSeconds() + 3600 })],
      [
        'iat a day in the future',
        () => accessClaims(alice.sub, alice.sid, { iat: nowSeconds() + 86_400, exp: nowSeconds() + 86_400 + 900 }),
      ],
      ['no exp', () => withoutClaims(accessClaims(alice.sub, alice.sid), 'exp')],
    ])('refuses a token with %s', async (_name, claims) => {
      await expectRefused(bearer(signedRight(claims())));
    });
  });

  describe('the Authorization header must be exactly "Bearer <token>"', () => {
    it.each([
      ['two spaces after Bearer', (token: string) => `Bearer  ${token}`],
      ['a tab instead of the space', (token: string) => `Bearer\t${token}`],
      ['a space inside the token', (token: string) => token.replace('.', '. ')],
      ['"Bearer Bearer <token>"', (token: string) => `Bearer Bearer ${token}`],
      ['the Basic scheme', (token: string) => `Basic ${token}`],
      ['the Token scheme', (token: string) => `Token ${token}`],
    ])('refuses a valid token sent with %s', async (_name, header) => {
      await expectRefused({ Authorization: header(alice.accessToken) });
    });

    it('treats trailing whitespace as absent: HTTP strips it before the app sees the header', async () => {
      // RFC 9110 section 5.5: a field value excludes trailing whitespace, and Node's parser removes it,
      // so the server cannot tell "Bearer <token> " from "Bearer <token>". What matters is that the
      // padding bypasses nothing: a forged token stays refused, a valid one stays valid.
      await expectRefused({
        Authorization: `Bearer ${signJwt(HS256_HEADER, accessClaims(alice.sub, alice.sid), 'secret')} `,
      });
      await t.http().get('/api/users/me').set('Authorization', `Bearer ${alice.accessToken} `).expect(200);
    });
  });

  describe('a token is only taken from the Authorization header or the accessToken cookie', () => {
    it.each(PROTECTED_ROUTES)('refuses a valid token in the query string (?access_token=) on %s', async (route) => {
      const res = await t.http().get(`${route}?access_token=${alice.accessToken}`);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      // The URL is not a place a token is read from, so none was presented: the bare challenge.
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    });
  });

  describe('refresh and access tokens are not interchangeable', () => {
    it('refuses a refresh token used as a Bearer access token', async () => {
      await expectRefused(bearer(alice.refreshToken));
    });

    it('refuses an access token presented as a refresh token, and issues nothing', async () => {
      const res = await t.http().post('/api/auth/refresh').send({ refreshToken: alice.accessToken });
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      expectNoTokenIssued(res);
    });

    it.each([
      ['an operator object {"$ne":null}', (): unknown => ({ $ne: null })],
      ['an array', (): unknown => [alice.refreshToken]],
    ])('rejects a refresh token that is %s with 400, and issues nothing', async (_name, value) => {
      const res = await t.http().post('/api/auth/refresh').send({ refreshToken: value() });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expectNoTokenIssued(res);
    });
  });

  describe('revoked sessions', () => {
    it('refuses both the access and the refresh token of a session after logout (replay)', async () => {
      const carol = await newCaller('carol');
      await t.http().post('/api/auth/logout').set(bearer(carol.accessToken)).expect(200);
      await expectRefused(bearer(carol.accessToken));
      const refresh = await t.http().post('/api/auth/refresh').send({ refreshToken: carol.refreshToken });
      expect({ status: refresh.status, body: refresh.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      expectNoTokenIssued(refresh);
    });

    it('refuses a freshly signed, valid token whose session was revoked, and keeps the other session', async () => {
      const first = await newCaller('dave');
      const again = await t
        .http()
        .post('/api/auth/login')
        .send({ username: first.username, password: first.password })
        .expect(200);
      const otherSid = jwtPayload(again.body.accessToken as string).sid as string;
      await t.http().post('/api/auth/logout').set(bearer(first.accessToken)).expect(200);

      // Never seen by the server before: only the session lookup can refuse it.
      await expectRefused(bearer(signedRight(accessClaims(first.sub, first.sid))));
      await t
        .http()
        .get('/api/users/me')
        .set(bearer(signedRight(accessClaims(first.sub, otherSid))))
        .expect(200);
    });
  });

  describe('expiry', () => {
    const expiredClaims = () =>
      accessClaims(alice.sub, alice.sid, { iat: nowSeconds() - 1200, exp: nowSeconds() - 300 });

    it('answers "Access token expired" for an expired but otherwise valid token of a live session', async () => {
      await expectRefused(bearer(signedRight(expiredClaims())), EXPIRED);
    });

    it('answers "Unauthorized", not "expired", for an expired token with a bad signature', async () => {
      await expectRefused(bearer(signJwt(HS256_HEADER, expiredClaims(), 'secret')));
    });
  });

  describe('header and cookie together', () => {
    it("uses the header's user when the header and the cookie name different users", async () => {
      const cookie = `accessToken=${bob.accessToken}`;
      const me = await t.http().get('/api/users/me').set(bearer(alice.accessToken)).set('Cookie', cookie).expect(200);
      expect(me.body).toMatchObject({ id: alice.sub, username: alice.username });
      const verify = await t
        .http()
        .get('/api/auth/verify')
        .set(bearer(alice.accessToken))
        .set('Cookie', cookie)
        .expect(204);
      expect(verify.headers['x-user-id']).toBe(alice.sub);
    });

    it.each([
      ['alg none', () => unsignedJwt({ alg: 'none', typ: 'JWT' }, accessClaims(alice.sub, alice.sid))],
      ['a guessed secret', () => signJwt(HS256_HEADER, accessClaims(alice.sub, alice.sid), 'secret')],
      ["another user's live sid", () => signedRight(accessClaims(alice.sub, bob.sid))],
    ])('refuses a token with %s in the accessToken cookie as it does in the header', async (_name, token) => {
      await expectRefused({ Cookie: `accessToken=${token()}` });
    });

    it('refuses a forged header even when a valid cookie is present (no fallback)', async () => {
      const forged = signJwt(HS256_HEADER, accessClaims(alice.sub, alice.sid), 'secret');
      await expectRefused({ ...bearer(forged), Cookie: `accessToken=${bob.accessToken}` });
    });
  });
});
