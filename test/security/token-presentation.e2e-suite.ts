import { HS256_HEADER, signJwt, unsignedJwt } from '../support/jwt-forge';
import { countOf, expectNoLeak, expectNoTokenIssued, UNAUTHORIZED } from './support/attack-kit';
import { bearer, PROTECTED_ROUTES, tokenTarget, type Headers } from './support/token-target';

/**
 * Where and how a token is presented, and which kind of token. Sources: RFC 6750 (Bearer token
 * usage), OWASP JSON Web Token Cheat Sheet, OWASP Injection Prevention / NoSQL, ASVS 4.0 V3.5.3,
 * V5.3.4.
 * Properties: a token is read only from `Authorization: Bearer <token>` (scheme in any case, exactly
 * one space) or the accessToken cookie, the header winning with no fallback to the cookie; a forged
 * token is refused alike in either place; refresh and access tokens are not interchangeable; the
 * refresh route takes only a string (anything else issues nothing to anyone); a logged-out session's
 * tokens are refused. Forged signatures and claims: token-forgery.e2e-suite.ts.
 */

jest.setTimeout(60_000);

describe('security: how a token is presented (RFC 6750, OWASP JWT Cheat Sheet)', () => {
  const target = tokenTarget('sectokenuse');
  const { aliceClaims, signedRight, expectRefused } = target;

  describe('the Authorization header must be exactly "Bearer <token>" (RFC 6750 sections 2.1, 5.3)', () => {
    it.each(['bearer', 'BEARER', 'bEaReR'])('accepts the scheme spelled %s (case-insensitive)', async (scheme) => {
      await target.t
        .http()
        .get('/api/users/me')
        .set('Authorization', `${scheme} ${target.alice.accessToken}`)
        .expect(200);
    });

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
      await expectRefused({ Authorization: header(target.alice.accessToken) });
    });

    it('treats trailing whitespace as absent: HTTP strips it before the app sees the header', async () => {
      // RFC 9110 section 5.5: a field value excludes trailing whitespace, and Node's parser removes it,
      // so the server cannot tell "Bearer <token> " from "Bearer <token>". What matters is that the
      // padding bypasses nothing: a forged token stays refused, a valid one stays valid.
      await expectRefused({ Authorization: `Bearer ${signJwt(HS256_HEADER, aliceClaims(), 'secret')} ` });
      await target.t
        .http()
        .get('/api/users/me')
        .set('Authorization', `Bearer ${target.alice.accessToken} `)
        .expect(200);
    });
  });

  describe('a token is only taken from the Authorization header or the accessToken cookie (RFC 6750 section 2.3)', () => {
    it.each(PROTECTED_ROUTES)('a genuine token in the query string (?access_token=) on %s: 401', async (route) => {
      const res = await target.t.http().get(`${route}?access_token=${target.alice.accessToken}`);
      expectNoLeak(res);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      // The URL is not a place a token is read from, so none was presented: the bare challenge.
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    });

    it.each([
      ['the Authorization header', (tk: string): Headers => bearer(tk)],
      ['the accessToken cookie', (tk: string): Headers => ({ Cookie: `accessToken=${tk}` })],
    ])('a 20 kB token in %s: 401 or 431, never 5xx', async (_where, headers) => {
      const huge = `${target.alice.accessToken}${'A'.repeat(20 * 1024)}`;
      for (const route of PROTECTED_ROUTES) {
        const res = await target.t.http().get(route).set(headers(huge));
        expectNoLeak(res, route);
        expect([401, 431]).toContain(res.status);
      }
    });

    it("when the header and the cookie name different users, the header's user is the caller", async () => {
      const { t, alice, bob } = target;
      const cookie = `accessToken=${bob.accessToken}`;
      const me = await t.http().get('/api/users/me').set(bearer(alice.accessToken)).set('Cookie', cookie).expect(200);
      expect(me.body).toMatchObject({ id: alice.sub, username: alice.username });
      const verify = await t.http().get('/api/auth/verify').set(bearer(alice.accessToken)).set('Cookie', cookie);
      expect({ status: verify.status, user: verify.headers['x-user-id'] }).toEqual({ status: 204, user: alice.sub });
    });

    it.each([
      ['alg none', () => unsignedJwt({ alg: 'none', typ: 'JWT' }, aliceClaims())],
      ['a guessed secret', () => signJwt(HS256_HEADER, aliceClaims(), 'secret')],
      ["another user's live sid", () => signedRight({ ...aliceClaims(), sid: target.bob.sid })],
    ])('a token with %s in the accessToken cookie is refused as it is in the header', async (_name, token) => {
      await expectRefused({ Cookie: `accessToken=${token()}` });
    });

    it('a forged header is refused even when a valid cookie is present (no fallback)', async () => {
      const forged = signJwt(HS256_HEADER, aliceClaims(), 'secret');
      await expectRefused({ ...bearer(forged), Cookie: `accessToken=${target.bob.accessToken}` });
    });
  });

  describe('refresh and access tokens are not interchangeable', () => {
    it('a refresh token presented as an access token: 401', async () => {
      await expectRefused(bearer(target.alice.refreshToken));
    });

    it('an access token presented as a refresh token: 401, and nothing issued to anyone', async () => {
      const before = await countOf(target.t, 'sessions');
      const res = await target.t.http().post('/api/auth/refresh').send({ refreshToken: target.alice.accessToken });
      expectNoLeak(res);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      expectNoTokenIssued(res);
      expect(await countOf(target.t, 'sessions')).toBe(before);
    });
  });

  describe('refresh token injection (OWASP Injection Prevention / NoSQL, ASVS 4.0 V5.3.4)', () => {
    it.each([
      ['an operator object {"$ne":null}', () => ({ $ne: null })],
      ['an operator object {"$gt":""}', () => ({ $gt: '' })],
      ['an array of a genuine token', () => [target.alice.refreshToken]],
      ['an array of operator objects', () => [{ $ne: null }]],
    ])('refreshToken in the body as %s: 400, and nothing issued to anyone', async (_name, value) => {
      const before = await countOf(target.t, 'sessions');
      const res = await target.t.http().post('/api/auth/refresh').send({ refreshToken: value() });
      expectNoLeak(res);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expectNoTokenIssued(res);
      expect(await countOf(target.t, 'sessions')).toBe(before);
    });

    it('cookie refreshToken=j:{"$ne":null} (cookie-parser JSON) issues nothing to anyone', async () => {
      const before = await countOf(target.t, 'sessions');
      const res = await target.t.http().post('/api/auth/refresh').set('Cookie', 'refreshToken=j:{"$ne":null}');
      expectNoLeak(res);
      expect([400, 401]).toContain(res.status);
      expectNoTokenIssued(res);
      expect(await countOf(target.t, 'sessions')).toBe(before);
    });

    it('after all of the above, the genuine sessions still work (nothing was revoked or rotated by the attacks)', async () => {
      await target.t.http().get('/api/users/me').set(bearer(target.alice.accessToken)).expect(200);
      await target.t.http().get('/api/users/me').set(bearer(target.bob.accessToken)).expect(200);
    });
  });

  it('after logout, both the access and the refresh token of the session are refused (replay)', async () => {
    const { t } = target;
    const carol = await target.newCaller('carol');
    await t.http().post('/api/auth/logout').set(bearer(carol.accessToken)).expect(200);
    await expectRefused(bearer(carol.accessToken));
    const refresh = await t.http().post('/api/auth/refresh').send({ refreshToken: carol.refreshToken });
    expect({ status: refresh.status, body: refresh.body }).toEqual({ status: 401, body: UNAUTHORIZED });
    expectNoTokenIssued(refresh);
  });
});
