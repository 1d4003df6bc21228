import { createTestApp, type TestApp } from '../support/test-app';
import { registerAndLogin, setCookieHeaders, type LoggedIn, bearer } from '../support/http';
import {
  expectClearedCookie,
  expectErrorBody,
  findSetCookie,
  type ParsedSetCookie,
} from '../support/contract-assertions';

/**
 * The auth cookies' attributes (docs/http-api.md): HttpOnly, Secure and SameSite=Strict by default
 * (COOKIE_SECURE, COOKIE_SAMESITE relax them), Path and Max-Age per token, the same on refresh and
 * when cleared at logout; cookie values are plain strings (no cookie-parser "j:" JSON). Sources:
 * OWASP Session Management Cheat Sheet ("Cookies"), ASVS 4.0 V3.4.1-V3.4.5. CSRF and CORS on these
 * cookies: csrf-cors.e2e-suite.ts.
 */

const ACCESS_LIFETIME_SECONDS = 900;
const REFRESH_LIFETIME_SECONDS = 7 * 24 * 3600;
/** Attributes a Set-Cookie may carry besides the ones the contract fixes (Expires mirrors Max-Age). */
const ALLOWED_EXTRA_ATTRIBUTES = ['expires'];

function expectAttributes(cookie: ParsedSetCookie, expected: Record<string, string | true>): void {
  const { attributes } = cookie;
  for (const [name, value] of Object.entries(expected)) expect([name, attributes[name]]).toEqual([name, value]);
  const unexpected = Object.keys(attributes).filter(
    (name) => !(name in expected) && !ALLOWED_EXTRA_ATTRIBUTES.includes(name),
  );
  expect(unexpected).toEqual([]);
}

function expectSetWith(
  cookie: ParsedSetCookie,
  path: string,
  flags: Record<string, string | true>,
  maxAge: [number, number],
): void {
  const { 'max-age': actualMaxAge, ...others } = cookie.attributes;
  expectAttributes({ ...cookie, attributes: others }, { httponly: true, path, ...flags });
  expect(Number(actualMaxAge)).toBeGreaterThanOrEqual(maxAge[0]);
  expect(Number(actualMaxAge)).toBeLessThanOrEqual(maxAge[1]);
}

const STRICT_SECURE = { secure: true, samesite: 'Strict' } as const;
const ACCESS_MAX_AGE: [number, number] = [ACCESS_LIFETIME_SECONDS, ACCESS_LIFETIME_SECONDS];
// Max-Age counts down from the session's idle deadline: allow a couple of seconds of request time.
const REFRESH_MAX_AGE: [number, number] = [REFRESH_LIFETIME_SECONDS - 3, REFRESH_LIFETIME_SECONDS];

describe('security: auth cookie attributes (OWASP Session Management Cheat Sheet, ASVS 4.0 V3.4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'cookies');
  });
  afterAll(async () => {
    await t.close();
  });

  const isAlive = async (user: LoggedIn) =>
    (await t.http().get('/api/users/me').set('Authorization', bearer(user.accessToken))).status === 200;

  describe('cookie attributes', () => {
    let user: LoggedIn;
    beforeAll(async () => {
      user = await registerAndLogin(t);
    });

    it('login sets accessToken: HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=<access lifetime>', () => {
      const cookie = findSetCookie(user.setCookie, 'accessToken');
      expect(cookie.value).toBe(user.accessToken);
      expectSetWith(cookie, '/', STRICT_SECURE, ACCESS_MAX_AGE);
    });

    it('login sets refreshToken: HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=<refresh lifetime>', () => {
      const cookie = findSetCookie(user.setCookie, 'refreshToken');
      expect(cookie.value).toBe(user.refreshToken);
      expectSetWith(cookie, '/api/auth', STRICT_SECURE, REFRESH_MAX_AGE);
    });

    it('a cookie refresh sets both cookies with the same attributes', async () => {
      const res = await t.http().post('/api/auth/refresh').set('Cookie', `refreshToken=${user.refreshToken}`);
      expect(res.status).toBe(200);
      const setCookie = setCookieHeaders(res);
      expectSetWith(findSetCookie(setCookie, 'accessToken'), '/', STRICT_SECURE, ACCESS_MAX_AGE);
      expectSetWith(findSetCookie(setCookie, 'refreshToken'), '/api/auth', STRICT_SECURE, REFRESH_MAX_AGE);
    });

    it('logout clears both cookies with the Path, HttpOnly, Secure and SameSite they were set with', async () => {
      const res = await t.http().post('/api/auth/logout').set('Authorization', bearer(user.accessToken));
      expect(res.status).toBe(200);
      const setCookie = setCookieHeaders(res);
      for (const [name, path] of [
        ['accessToken', '/'],
        ['refreshToken', '/api/auth'],
      ]) {
        const cookie = findSetCookie(setCookie, name);
        expectClearedCookie(cookie);
        const { 'max-age': _maxAge, ...attributes } = cookie.attributes;
        expectAttributes({ ...cookie, attributes }, { httponly: true, path, ...STRICT_SECURE });
      }
    });
  });

  describe('with COOKIE_SECURE=false and COOKIE_SAMESITE=lax', () => {
    let relaxed: TestApp;
    let user: LoggedIn;
    beforeAll(async () => {
      const env = { AUTH_RATE_LIMIT: '0', COOKIE_SECURE: 'false', COOKIE_SAMESITE: 'lax' };
      relaxed = await createTestApp(env, 'laxcookies');
      user = await registerAndLogin(relaxed);
    });
    afterAll(async () => {
      await relaxed.close();
    });

    it('sets both cookies without Secure and with SameSite=Lax', () => {
      expectSetWith(findSetCookie(user.setCookie, 'accessToken'), '/', { samesite: 'Lax' }, ACCESS_MAX_AGE);
      expectSetWith(findSetCookie(user.setCookie, 'refreshToken'), '/api/auth', { samesite: 'Lax' }, REFRESH_MAX_AGE);
    });

    it('clears both cookies without Secure and with SameSite=Lax', async () => {
      const res = await relaxed.http().post('/api/auth/logout').set('Authorization', bearer(user.accessToken));
      expect(res.status).toBe(200);
      for (const [name, path] of [
        ['accessToken', '/'],
        ['refreshToken', '/api/auth'],
      ]) {
        const cookie = findSetCookie(setCookieHeaders(res), name);
        expectClearedCookie(cookie);
        const { 'max-age': _maxAge, ...attributes } = cookie.attributes;
        expectAttributes({ ...cookie, attributes }, { httponly: true, path, samesite: 'Lax' });
      }
    });
  });

  describe('cookie values are plain strings (no cookie-parser "j:" JSON)', () => {
    it('refreshToken=j:{"$ne":null} issues nothing (401)', async () => {
      const res = await t.http().post('/api/auth/refresh').set('Cookie', 'refreshToken=j:{"$ne":null}');
      expectErrorBody(res, 401);
      expect(setCookieHeaders(res)).toEqual([]);
    });

    it('accessToken=j:"<valid token>" and refreshToken=j:"<valid token>" do not authenticate (401)', async () => {
      const user = await registerAndLogin(t);
      expectErrorBody(await t.http().get('/api/users/me').set('Cookie', `accessToken=j:"${user.accessToken}"`), 401);
      const refreshed = await t.http().post('/api/auth/refresh').set('Cookie', `refreshToken=j:"${user.refreshToken}"`);
      expectErrorBody(refreshed, 401);
      expect(setCookieHeaders(refreshed)).toEqual([]);
      // The genuine tokens are untouched by those attempts.
      expect(await isAlive(user)).toBe(true);
    });
  });
});
