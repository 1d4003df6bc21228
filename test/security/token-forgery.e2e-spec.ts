import { randomBytes } from 'node:crypto';
import { createTestApp, type TestApp } from '../support/test-app';
import { jwtPayload, registerAndLogin, type LoggedIn } from '../support/auth-helpers';
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
} from '../support/jwt-forge';
import { countOf, expectNoLeak, expectNoTokenIssued, UNAUTHORIZED } from './support/attack-kit';

/**
 * Attacks on token parsing and verification. Sources: RFC 8725 (JWT Best Current Practices),
 * RFC 6750 (Bearer token usage), OWASP JSON Web Token Cheat Sheet, ASVS 4.0 V3.5.3 (stateless tokens
 * protected against tampering, null cipher and key substitution).
 * Property: every forged, misplaced or malformed token is 401 with the generic body (or 431 for an
 * oversized header), never 5xx, never a library message.
 */

jest.setTimeout(60_000);

type Headers = Record<string, string>;
const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` });
const PROTECTED_ROUTES = ['/api/users/me', '/api/auth/verify'];

interface Caller extends LoggedIn {
  sub: string;
  sid: string;
}

describe('security: token forgery and parsing (RFC 8725, RFC 6750, OWASP JWT Cheat Sheet)', () => {
  let t: TestApp;
  let alice: Caller;
  let bob: Caller;

  const newCaller = async (prefix: string): Promise<Caller> => {
    const loggedIn = await registerAndLogin(t, `${prefix}_${randomBytes(4).toString('hex')}`);
    const claims = jwtPayload(loggedIn.accessToken);
    return { ...loggedIn, sub: claims.sub as string, sid: claims.sid as string };
  };
  const aliceClaims = (overrides: JwtPart = {}) => accessClaims(alice.sub, alice.sid, overrides);
  const signedRight = (payload: JwtPart) => signJwt(HS256_HEADER, payload, t.secrets.access);

  /** 401, the generic body, an invalid_token challenge, no library words: on both protected routes. */
  async function expectRefused(headers: Headers): Promise<void> {
    for (const route of PROTECTED_ROUTES) {
      const res = await t.http().get(route).set(headers);
      expectNoLeak(res, route);
      expect({ route, status: res.status, body: res.body }).toEqual({ route, status: 401, body: UNAUTHORIZED });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    }
  }

  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'secforgery');
    alice = await newCaller('alice');
    bob = await newCaller('bob');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('positive control: a token signed exactly as the server signs is accepted (so refusals below are not accidental)', async () => {
    await t
      .http()
      .get('/api/users/me')
      .set(bearer(signedRight(aliceClaims())))
      .expect(200);
  });

  describe('algorithm attacks (RFC 8725 sections 2.1, 3.1, 3.2)', () => {
    it.each(['none', 'None', 'NONE', 'nOnE'])('alg "%s" with an empty signature: 401', async (alg) => {
      await expectRefused(bearer(unsignedJwt({ alg, typ: 'JWT' }, aliceClaims())));
    });

    it('a genuine token with its signature stripped (empty third part): 401', async () => {
      const [header, payload] = alice.accessToken.split('.');
      await expectRefused(bearer(`${header}.${payload}.`));
    });

    it('a genuine token with only two parts: 401', async () => {
      const [header, payload] = alice.accessToken.split('.');
      await expectRefused(bearer(`${header}.${payload}`));
    });

    it.each(['HS384', 'HS512'] as const)(
      'header alg %s, signed %s with the right secret (HMAC confusion): 401',
      async (alg) => {
        await expectRefused(bearer(signJwt({ alg, typ: 'JWT' }, aliceClaims(), t.secrets.access, alg)));
      },
    );

    it.each(['HS384', 'HS512'] as const)('header alg HS256 but signed %s with the right secret: 401', async (alg) => {
      const input = `${Buffer.from(JSON.stringify(HS256_HEADER)).toString('base64url')}.${Buffer.from(JSON.stringify(aliceClaims())).toString('base64url')}`;
      await expectRefused(bearer(`${input}.${hmacSignature(input, t.secrets.access, alg)}`));
    });

    it('header alg RS256 with an HMAC signature made with the secret (key confusion): 401', async () => {
      await expectRefused(bearer(signJwt({ alg: 'RS256', typ: 'JWT' }, aliceClaims(), t.secrets.access)));
    });
  });

  describe('wrong keys (RFC 8725 section 3.5, OWASP JWT Cheat Sheet "weak token secret")', () => {
    it.each([
      ['the refresh secret', () => t.secrets.refresh],
      ['an empty secret', () => ''],
      ['the guessed secret "secret"', () => 'secret'],
      ['the guessed secret "your-256-bit-secret" (jwt.io sample)', () => 'your-256-bit-secret'],
      ['the guessed secret "changeme"', () => 'changeme'],
    ])('HS256 signed with %s: 401', async (_name, secret) => {
      await expectRefused(bearer(signJwt(HS256_HEADER, aliceClaims(), secret())));
    });
  });

  describe('headers that point the verifier elsewhere (RFC 8725 section 3.10, OWASP JWT Cheat Sheet)', () => {
    const attackerKey = 'attacker-controlled-key-0123456789abcdef';
    it.each([
      ['kid path traversal to /dev/null, signed with an empty key', { kid: '../../../../../../dev/null' }, ''],
      ['kid SQL/NoSQL-injection text', { kid: "' OR '1'='1" }, attackerKey],
      ['jku pointing at an attacker key set', { jku: 'https://attacker.example/jwks.json' }, attackerKey],
      ['x5u pointing at an attacker certificate', { x5u: 'https://attacker.example/cert.pem' }, attackerKey],
      [
        'an embedded jwk with the attacker key',
        { jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } },
        attackerKey,
      ],
    ])('%s: 401', async (_name, extra, key) => {
      await expectRefused(bearer(signJwt({ ...HS256_HEADER, ...extra }, aliceClaims(), key)));
    });
  });

  describe('claims edited or missing (ASVS 4.0 V3.5.3)', () => {
    it("a genuine token with sub swapped to another user's id (signature kept): 401", async () => {
      await expectRefused(bearer(withTamperedPayload(alice.accessToken, (p) => ({ ...p, sub: bob.sub }))));
    });

    it("a genuine token with sid swapped to another user's live session (signature kept): 401", async () => {
      await expectRefused(bearer(withTamperedPayload(alice.accessToken, (p) => ({ ...p, sid: bob.sid }))));
    });

    it("a correctly signed token naming user A with user B's live sid: 401", async () => {
      await expectRefused(bearer(signedRight(accessClaims(alice.sub, bob.sid))));
    });

    it.each([
      ['sub missing', () => withoutClaims(aliceClaims(), 'sub')],
      ['sid missing', () => withoutClaims(aliceClaims(), 'sid')],
      ['exp missing', () => withoutClaims(aliceClaims(), 'exp')],
      ['sub a number', () => aliceClaims({ sub: 1 })],
      ['sub an operator object {"$ne":null}', () => aliceClaims({ sub: { $ne: null } })],
      ['sid an array', () => aliceClaims({ sid: [alice.sid] })],
      ['sid an operator object {"$gt":""}', () => aliceClaims({ sid: { $gt: '' } })],
      ['exp a string', () => aliceClaims({ exp: String(nowSeconds() + 900) })],
      ['nbf an hour in the future', () => aliceClaims({ nbf: nowSeconds() + 3600 })],
      ['iat a day in the future', () => aliceClaims({ iat: nowSeconds() + 86_400, exp: nowSeconds() + 86_400 + 900 })],
    ])('correctly signed, %s: 401', async (_name, claims) => {
      await expectRefused(bearer(signedRight(claims())));
    });

    it('a payload that is not JSON, correctly signed: 401', async () => {
      const input = `${Buffer.from(JSON.stringify(HS256_HEADER)).toString('base64url')}.${Buffer.from('not json').toString('base64url')}`;
      await expectRefused(bearer(`${input}.${hmacSignature(input, t.secrets.access)}`));
    });
  });

  describe('where and how the token is presented (RFC 6750 sections 2.1, 2.3, 5.3)', () => {
    it.each([
      ['extra whitespace: two spaces after Bearer', (tk: string) => `Bearer  ${tk}`],
      ['extra whitespace: a tab instead of the space', (tk: string) => `Bearer\t${tk}`],
      ['a space inside the token', (tk: string) => tk.replace('.', '. ')],
      ['a second Bearer: "Bearer Bearer <token>"', (tk: string) => `Bearer Bearer ${tk}`],
      ['two tokens: "Bearer <token>, Bearer <token>"', (tk: string) => `Bearer ${tk}, Bearer ${tk}`],
      ['the Basic scheme', (tk: string) => `Basic ${tk}`],
      ['the Token scheme', (tk: string) => `Token ${tk}`],
      ['no scheme at all', (tk: string) => tk],
    ])('a genuine token with %s: 401', async (_name, header) => {
      await expectRefused({ Authorization: header(alice.accessToken) });
    });

    it.each(PROTECTED_ROUTES)('a genuine token in the query string (?access_token=) on %s: 401', async (route) => {
      const res = await t.http().get(`${route}?access_token=${alice.accessToken}`);
      expectNoLeak(res);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
    });

    it.each([
      ['the Authorization header', (tk: string): Headers => bearer(tk)],
      ['the accessToken cookie', (tk: string): Headers => ({ Cookie: `accessToken=${tk}` })],
    ])('a 20 kB token in %s: 401 or 431, never 5xx', async (_where, headers) => {
      const huge = `${alice.accessToken}${'A'.repeat(20 * 1024)}`;
      for (const route of PROTECTED_ROUTES) {
        const res = await t.http().get(route).set(headers(huge));
        expectNoLeak(res, route);
        expect([401, 431]).toContain(res.status);
      }
    });

    it("when the header and the cookie name different users, the header's user is the caller", async () => {
      const me = await t
        .http()
        .get('/api/users/me')
        .set(bearer(alice.accessToken))
        .set('Cookie', `accessToken=${bob.accessToken}`);
      expect({ status: me.status, id: me.body.id }).toEqual({ status: 200, id: alice.sub });
    });

    it('a refresh token presented as an access token: 401', async () => {
      await expectRefused(bearer(alice.refreshToken));
    });
  });

  describe('refresh token injection (OWASP Injection Prevention / NoSQL, ASVS 4.0 V5.3.4)', () => {
    async function expectIssuesNothing(
      res: { status: number; text: string; body: unknown; headers: Record<string, unknown> },
      sessionsBefore: number,
    ) {
      expectNoLeak(res);
      expect([400, 401]).toContain(res.status);
      expectNoTokenIssued(res);
      expect(await countOf(t, 'sessions')).toBe(sessionsBefore);
    }

    it.each([
      ['an operator object {"$ne":null}', () => ({ $ne: null })],
      ['an operator object {"$gt":""}', () => ({ $gt: '' })],
      ['an array of a genuine token', () => [alice.refreshToken]],
      ['an array of operator objects', () => [{ $ne: null }]],
    ])('refreshToken in the body as %s issues nothing to anyone', async (_name, value) => {
      const before = await countOf(t, 'sessions');
      await expectIssuesNothing(await t.http().post('/api/auth/refresh').send({ refreshToken: value() }), before);
    });

    it('cookie refreshToken=j:{"$ne":null} (cookie-parser JSON) issues nothing to anyone', async () => {
      const before = await countOf(t, 'sessions');
      await expectIssuesNothing(
        await t.http().post('/api/auth/refresh').set('Cookie', 'refreshToken=j:{"$ne":null}'),
        before,
      );
    });

    it('an access token presented as a refresh token issues nothing', async () => {
      const before = await countOf(t, 'sessions');
      await expectIssuesNothing(
        await t.http().post('/api/auth/refresh').send({ refreshToken: alice.accessToken }),
        before,
      );
    });

    it('after all of the above, the genuine sessions still work (nothing was revoked or rotated by the attacks)', async () => {
      await t.http().get('/api/users/me').set(bearer(alice.accessToken)).expect(200);
      await t.http().get('/api/users/me').set(bearer(bob.accessToken)).expect(200);
    });
  });
});
