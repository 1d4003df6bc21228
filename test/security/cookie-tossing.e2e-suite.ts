import type { Response } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';
import { bearer, registerAndLogin, setCookieHeaders, type LoggedIn, listenOnV4 } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { countOf, expectNoLeak, expectNoTokenIssued, UNAUTHORIZED } from './support/attack-kit';
import { headerOf, rawRequest } from './support/raw-http';

/**
 * Cookie tossing. Sources: RFC 6265bis section 8.6 ("Weak Integrity": a sibling sub-domain can set a
 * cookie for the parent domain that the browser sends to this service), section 5.8.3 (cookies with
 * longer paths are listed first, so the tossed `Path=/api/auth/refresh` copy comes before the genuine
 * one), OWASP Web Security Testing Guide WSTG-SESS-02 (cookie attributes), OWASP Session Management
 * Cheat Sheet ("Domain and Path attributes"). Both adapters' parsers keep the first copy of a name, so
 * the attacker's session would replace the victim's (login CSRF) or the victim's refresh would fail.
 * Property: a request whose Cookie header(s) carry accessToken or refreshToken more than once is
 * refused, 400 on refresh and 401 `invalid_token` on protected routes, and nothing is issued or
 * revoked; one copy of each, and repeated cookies of other names, still work (positive controls).
 */

jest.setTimeout(60_000);

describe('security: cookie tossing (RFC 6265bis 8.6 Weak Integrity, OWASP WSTG-SESS-02)', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'seccookietoss');
    base = await listenOnV4(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Fresh accounts for every test: an attack that succeeds must not change what the next test sees. */
  const attackerAndVictim = () => Promise.all([registerAndLogin(t), registerAndLogin(t)]);
  const refreshWithCookie = (cookie: string) => t.http().post('/api/auth/refresh').set('Cookie', cookie);
  const isAlive = async (user: LoggedIn) =>
    (await t.http().get('/api/users/me').set('Authorization', bearer(user.accessToken))).status === 200;
  /** The refresh token still rotates: the refused request did not use it up. */
  const refreshTokenStillValid = async (user: LoggedIn) => {
    const res = await t.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken });
    if (res.status === 200) user.refreshToken = res.body.refreshToken as string;
    return res.status === 200;
  };

  describe('POST /api/auth/refresh: 400, nothing issued', () => {
    it.each([
      [
        "the attacker's copy first (tossed with a longer Path)",
        (a: string, v: string) => `refreshToken=${a}; refreshToken=${v}`,
      ],
      ['two identical copies', (_a: string, v: string) => `refreshToken=${v}; refreshToken=${v}`],
      ['an empty copy first', (_a: string, v: string) => `refreshToken=; refreshToken=${v}`],
      ['an empty copy last', (_a: string, v: string) => `refreshToken=${v}; refreshToken=`],
      ['a copy with spaces around its name', (a: string, v: string) => `refreshToken=${v};  refreshToken  =${a}`],
      [
        'a duplicated accessToken beside one refreshToken',
        (a: string, v: string) => `accessToken=x; accessToken=y; refreshToken=${v}`,
      ],
    ])('%s', async (_name, cookie) => {
      const [attacker, victim] = await attackerAndVictim();
      const sessionsBefore = await countOf(t, 'sessions');
      const res = await refreshWithCookie(cookie(attacker.refreshToken, victim.refreshToken));
      expectNoLeak(res);
      expectErrorBody(res, 400);
      expectNoTokenIssued(res);
      expect(setCookieHeaders(res)).toEqual([]);
      expect(await countOf(t, 'sessions')).toBe(sessionsBefore);
      expect(await refreshTokenStillValid(victim)).toBe(true);
      expect(await refreshTokenStillValid(attacker)).toBe(true);
    });

    it('the two copies in two Cookie headers (Node.js joins them): 400, no Set-Cookie', async () => {
      const [attacker, victim] = await attackerAndVictim();
      const res = await rawRequest(base, [
        'POST /api/auth/refresh HTTP/1.1',
        'Host: 127.0.0.1',
        `Cookie: refreshToken=${attacker.refreshToken}`,
        `Cookie: refreshToken=${victim.refreshToken}`,
      ]);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await refreshTokenStillValid(victim)).toBe(true);
    });

    it('control: one refreshToken cookie beside repeated cookies of other names still refreshes (200)', async () => {
      const user = await registerAndLogin(t);
      const res = await refreshWithCookie(
        `theme=dark; theme=light; xrefreshToken=a; refreshToken=${user.refreshToken}`,
      );
      expect(res.status).toBe(200);
      expect(setCookieHeaders(res).some((line) => line.startsWith('refreshToken='))).toBe(true);
    });
  });

  describe('protected routes: 401 invalid_token, nothing done', () => {
    const routes: Array<[string, 'get' | 'post', string]> = [
      ['GET /api/auth/verify', 'get', '/api/auth/verify'],
      ['GET /api/users/me', 'get', '/api/users/me'],
      ['POST /api/auth/logout', 'post', '/api/auth/logout'],
      ['GET /api/auth/sessions', 'get', '/api/auth/sessions'],
    ];

    async function expectRefused(res: Response) {
      expectNoLeak(res);
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expectNoTokenIssued(res);
      expect(setCookieHeaders(res)).toEqual([]);
    }

    it.each(routes)("%s with the attacker's accessToken before the victim's", async (_name, method, path) => {
      const [attacker, victim] = await attackerAndVictim();
      await expectRefused(
        await t
          .http()
          [method](path)
          .set('Cookie', `accessToken=${attacker.accessToken}; accessToken=${victim.accessToken}`),
      );
      expect(await isAlive(victim)).toBe(true);
      expect(await isAlive(attacker)).toBe(true);
    });

    it.each(routes)('%s with two identical accessToken copies', async (_name, method, path) => {
      const victim = await registerAndLogin(t);
      await expectRefused(
        await t
          .http()
          [method](path)
          .set('Cookie', `accessToken=${victim.accessToken}; accessToken=${victim.accessToken}`),
      );
      expect(await isAlive(victim)).toBe(true);
    });

    it.each(routes)('%s with an empty accessToken copy first', async (_name, method, path) => {
      const victim = await registerAndLogin(t);
      await expectRefused(
        await t.http()[method](path).set('Cookie', `accessToken=; accessToken=${victim.accessToken}`),
      );
      expect(await isAlive(victim)).toBe(true);
    });

    it('one accessToken but a duplicated refreshToken: 401', async () => {
      const victim = await registerAndLogin(t);
      await expectRefused(
        await t
          .http()
          .get('/api/users/me')
          .set('Cookie', `accessToken=${victim.accessToken}; refreshToken=a; refreshToken=b`),
      );
    });

    it('a genuine Authorization header does not make tossed cookies acceptable: 401', async () => {
      const [attacker, victim] = await attackerAndVictim();
      await expectRefused(
        await t
          .http()
          .post('/api/auth/logout')
          .set('Authorization', bearer(victim.accessToken))
          .set('Cookie', `accessToken=${attacker.accessToken}; accessToken=${victim.accessToken}`),
      );
      expect(await isAlive(victim)).toBe(true);
    });

    it('the two copies in two Cookie headers: 401 invalid_token', async () => {
      const [attacker, victim] = await attackerAndVictim();
      const res = await rawRequest(base, [
        'GET /api/users/me HTTP/1.1',
        'Host: 127.0.0.1',
        `Cookie: accessToken=${attacker.accessToken}`,
        `Cookie: theme=dark; accessToken=${victim.accessToken}`,
      ]);
      expect({ status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({
        status: 401,
        body: UNAUTHORIZED,
      });
      expect(headerOf(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
    });

    it('control: one accessToken cookie beside repeated cookies of other names authenticates (200)', async () => {
      const victim = await registerAndLogin(t);
      const res = await t
        .http()
        .get('/api/users/me')
        .set('Cookie', `theme=a; theme=b; accessTokenX=c; AccessToken=d; accessToken=${victim.accessToken}`);
      expect(res.status).toBe(200);
    });

    it('control: one accessToken in each of two Cookie headers with other names authenticates (200)', async () => {
      const victim = await registerAndLogin(t);
      const res = await rawRequest(base, [
        'GET /api/users/me HTTP/1.1',
        'Host: 127.0.0.1',
        'Cookie: theme=dark',
        `Cookie: accessToken=${victim.accessToken}`,
      ]);
      expect(res.status).toBe(200);
    });
  });
});
