import { createTestApp, type TestApp } from './support/test-app';
import { cookieHeader, registerAndLogin, setCookieHeaders, type LoggedIn } from './support/auth-helpers';
import {
  bearer,
  expectClearedCookie,
  expectErrorBody,
  findSetCookie,
  type ParsedSetCookie,
} from './support/contract-assertions';

const ACCESS_LIFETIME_SECONDS = 900;
const REFRESH_LIFETIME_SECONDS = 7 * 24 * 3600;
/** Attributes a Set-Cookie may carry besides the ones the contract fixes (Expires mirrors Max-Age). */
const ALLOWED_EXTRA_ATTRIBUTES = ['expires'];
const FOREIGN_ORIGIN = 'https://evil.example';
const ALLOWED_ORIGIN = 'https://app.example';

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

describe('cookies and CSRF', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'cookies');
  });
  afterAll(async () => {
    await t.close();
  });

  const cookieLogout = (user: LoggedIn) =>
    t
      .http()
      .post('/api/auth/logout')
      .set('Cookie', cookieHeader({ accessToken: user.accessToken }));
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

  describe('CSRF on cookie-authenticated state changes', () => {
    it('refuses a foreign Origin (403) and leaves the session alive', async () => {
      const user = await registerAndLogin(t);
      const res = await cookieLogout(user).set('Origin', FOREIGN_ORIGIN);
      expectErrorBody(res, 403);
      expect(setCookieHeaders(res)).toEqual([]);
      expect(await isAlive(user)).toBe(true);
    });

    it('refuses Sec-Fetch-Site: cross-site (403) and leaves the session alive', async () => {
      const user = await registerAndLogin(t);
      expectErrorBody(await cookieLogout(user).set('Sec-Fetch-Site', 'cross-site'), 403);
      expect(await isAlive(user)).toBe(true);
    });

    it("accepts the server's own origin (200)", async () => {
      const user = await registerAndLogin(t);
      const res = await cookieLogout(user)
        .set('Host', 'auth.internal.test:8443')
        .set('Origin', 'http://auth.internal.test:8443');
      expect(res.status).toBe(200);
      expect(await isAlive(user)).toBe(false);
    });

    it('accepts a request without an Origin header (200)', async () => {
      const user = await registerAndLogin(t);
      expect((await cookieLogout(user)).status).toBe(200);
      expect(await isAlive(user)).toBe(false);
    });

    it('does not apply to a request authenticated by the Authorization header (200)', async () => {
      const user = await registerAndLogin(t);
      const res = await t
        .http()
        .post('/api/auth/logout')
        .set('Authorization', bearer(user.accessToken))
        .set('Origin', FOREIGN_ORIGIN)
        .set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(200);
      expect(await isAlive(user)).toBe(false);
    });

    it('refuses a cookie refresh from a foreign Origin (403) without using up the refresh token', async () => {
      const user = await registerAndLogin(t);
      const refreshCookie = `refreshToken=${user.refreshToken}`;
      const refused = await t
        .http()
        .post('/api/auth/refresh')
        .set('Cookie', refreshCookie)
        .set('Origin', FOREIGN_ORIGIN);
      expectErrorBody(refused, 403);
      expect(setCookieHeaders(refused)).toEqual([]);
      const crossSite = await t
        .http()
        .post('/api/auth/refresh')
        .set('Cookie', refreshCookie)
        .set('Sec-Fetch-Site', 'cross-site');
      expectErrorBody(crossSite, 403);
      expect((await t.http().post('/api/auth/refresh').set('Cookie', refreshCookie)).status).toBe(200);
    });
  });

  describe(`with CORS_ORIGINS=${ALLOWED_ORIGIN}`, () => {
    let cors: TestApp;
    beforeAll(async () => {
      cors = await createTestApp({ AUTH_RATE_LIMIT: '0', CORS_ORIGINS: ALLOWED_ORIGIN }, 'cors');
    });
    afterAll(async () => {
      await cors.close();
    });

    const preflight = (origin: string) =>
      cors
        .http()
        .options('/api/auth/logout')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type');

    it('accepts a cookie-authenticated logout from the allowed origin (200) with CORS headers for it', async () => {
      const user = await registerAndLogin(cors);
      const res = await cors
        .http()
        .post('/api/auth/logout')
        .set('Cookie', cookieHeader({ accessToken: user.accessToken }))
        .set('Origin', ALLOWED_ORIGIN);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      const after = await cors.http().get('/api/users/me').set('Authorization', bearer(user.accessToken));
      expect(after.status).toBe(401);
    });

    it('still refuses a cookie-authenticated logout from a foreign origin (403)', async () => {
      const user = await registerAndLogin(cors);
      const res = await cors
        .http()
        .post('/api/auth/logout')
        .set('Cookie', cookieHeader({ accessToken: user.accessToken }))
        .set('Origin', FOREIGN_ORIGIN);
      expectErrorBody(res, 403);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers a preflight from the allowed origin with that origin and credentials', async () => {
      const res = await preflight(ALLOWED_ORIGIN);
      expect(res.status).toBeLessThan(300);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
    });

    it('gives a foreign origin no Access-Control-Allow-Origin, on preflight or response', async () => {
      expect((await preflight(FOREIGN_ORIGIN)).headers['access-control-allow-origin']).toBeUndefined();
      const res = await cors.http().get('/health/live').set('Origin', FOREIGN_ORIGIN);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  it('without CORS_ORIGINS gives no origin an Access-Control-Allow-Origin (never "*")', async () => {
    for (const origin of [ALLOWED_ORIGIN, FOREIGN_ORIGIN]) {
      const options = await t
        .http()
        .options('/api/auth/login')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST');
      const get = await t.http().get('/health/live').set('Origin', origin);
      expect(options.headers['access-control-allow-origin']).toBeUndefined();
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});
