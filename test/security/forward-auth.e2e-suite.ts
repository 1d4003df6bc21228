import { createTestApp, type TestApp } from '../support/test-app';
import { jwtPayload, registerAndLogin, type LoggedIn, bearer } from '../support/http';
import { HS256_HEADER, nowSeconds, signJwt } from '../support/jwt-forge';
import { expectErrorBody } from '../support/contract-assertions';

/**
 * Forward-auth (GET /api/auth/verify) as an attacker reaches it through a proxy. Sources: OWASP
 * Cross-Site Request Forgery Prevention Cheat Sheet ("Verifying Origin with standard headers", "Fetch
 * Metadata headers"), OWASP Denial of Service Cheat Sheet.
 * Properties: nginx auth_request, Caddy forward_auth and Traefik ForwardAuth ask verify with GET
 * whatever the original method, naming it in X-Forwarded-Method / X-Original-Method; verify then refuses
 * a cookie-authenticated cross-site unsafe request with the 403 the API itself gives, and lets the same
 * request through with a bearer header or from an allowed origin. Verify is not counted against
 * AUTH_RATE_LIMIT, so browsing cannot block a user's logout or refresh.
 */

jest.setTimeout(90_000);

const ALLOWED_ORIGIN = 'https://app.example';
const CROSS_SITE_ORIGIN = 'https://evil.example';

describe('security: CSRF through forward-auth (OWASP CSRF Prevention Cheat Sheet)', () => {
  let t: TestApp;
  let victim: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: ALLOWED_ORIGIN }, 'secfwdauth');
    victim = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const verifyWithCookie = (headers: Record<string, string>) =>
    t.http().get('/api/auth/verify').set('Cookie', `accessToken=${victim.accessToken}`).set(headers);

  it.each([
    ['X-Forwarded-Method: POST, cross-site Origin', { 'X-Forwarded-Method': 'POST', Origin: CROSS_SITE_ORIGIN }],
    ['X-Original-Method: DELETE, cross-site Origin', { 'X-Original-Method': 'DELETE', Origin: CROSS_SITE_ORIGIN }],
    [
      'X-Forwarded-Method: patch (lower case), cross-site Origin',
      { 'X-Forwarded-Method': 'patch', Origin: CROSS_SITE_ORIGIN },
    ],
    [
      'X-Forwarded-Method: PUT, Sec-Fetch-Site: cross-site',
      { 'X-Forwarded-Method': 'PUT', 'Sec-Fetch-Site': 'cross-site' },
    ],
    [
      'a safe X-Forwarded-Method beside an unsafe X-Original-Method',
      { 'X-Forwarded-Method': 'GET', 'X-Original-Method': 'POST', Origin: CROSS_SITE_ORIGIN },
    ],
  ] as Array<[string, Record<string, string>]>)(
    'cookie + %s: 403, no identity headers, as POST /api/auth/logout would answer',
    async (_label, headers) => {
      const res = await verifyWithCookie(headers);
      expectErrorBody(res, 403);
      expect(res.headers['x-user-id']).toBeUndefined();
      expect(res.headers['x-session-id']).toBeUndefined();

      const sameRequestToTheApi = await t
        .http()
        .post('/api/auth/logout')
        .set('Cookie', `accessToken=${victim.accessToken}`)
        .set({
          Origin: headers.Origin ?? CROSS_SITE_ORIGIN,
          ...('Sec-Fetch-Site' in headers ? { 'Sec-Fetch-Site': 'cross-site' } : {}),
        });
      expect(sameRequestToTheApi.status).toBe(403);
    },
  );

  it.each([
    [
      'a safe original method from a cross-site origin (a link being followed)',
      { 'X-Forwarded-Method': 'GET', Origin: CROSS_SITE_ORIGIN },
    ],
    ['an unsafe original method from an allowed origin', { 'X-Forwarded-Method': 'POST', Origin: ALLOWED_ORIGIN }],
    ['an unsafe original method with no Origin and no Fetch Metadata', { 'X-Forwarded-Method': 'DELETE' }],
    ['no original method at all', { Origin: CROSS_SITE_ORIGIN }],
  ])('cookie + %s: 204 with the identity headers', async (_label, headers) => {
    const res = await verifyWithCookie(headers);
    expect(res.status).toBe(204);
    expect(res.headers['x-user-id']).toBe(victim.userId);
    expect(res.headers['x-session-id']).toEqual(expect.stringMatching(/^[a-f0-9]{24}$/));
  });

  it('a bearer token is not subject to CSRF: the cross-site unsafe original method passes', async () => {
    const res = await t
      .http()
      .get('/api/auth/verify')
      .set('Authorization', bearer(victim.accessToken))
      .set({ 'X-Forwarded-Method': 'POST', Origin: CROSS_SITE_ORIGIN });
    expect(res.status).toBe(204);
  });
});

describe('security: verify traffic cannot exhaust the auth rate limit (OWASP Denial of Service Cheat Sheet)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '5' }, 'secfwdlimit');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('AUTH_RATE_LIMIT=5: 20 verifies all answer 204, and the same address can still refresh and log out', async () => {
    // register + login: two of the five.
    const user = await registerAndLogin(t);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push((await t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken))).status);
    expect(statuses).toEqual(Array(20).fill(204));

    const refreshed = await t.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(200);
    const logout = await t.http().post('/api/auth/logout').set('Authorization', bearer(refreshed.body.accessToken));
    expect(logout.status).toBe(200);
    // The budget still counts the other routes: the fifth passes, the sixth is refused.
    expect((await t.http().post('/api/auth/refresh').send({ refreshToken: 'x' })).status).toBe(401);
    expect((await t.http().post('/api/auth/refresh').send({ refreshToken: 'x' })).status).toBe(429);
  });
});

describe('security: VERIFY_RATE_LIMIT, a budget of its own for forward-auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '5', VERIFY_RATE_LIMIT: '4' }, 'secverifylimit');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('VERIFY_RATE_LIMIT=4: the 5th check is 429 with Retry-After; the auth budget is untouched', async () => {
    const user = await registerAndLogin(t);
    const verify = () => t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await verify()).status);
    expect(statuses).toEqual([204, 204, 204, 204]);

    const limited = await verify();
    expectErrorBody(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['x-user-id']).toBeUndefined();

    // register + login spent two of the five auth requests: logout is the third.
    const logout = await t.http().post('/api/auth/logout').set('Authorization', bearer(user.accessToken));
    expect(logout.status).toBe(200);
  });
});

describe('security: a refused forward-auth says why in X-Auth-Message (for proxies that drop the body)', () => {
  let t: TestApp;
  let user: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({}, 'secverifymsg');
    user = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['no token', () => ({})],
    ['a malformed token', () => ({ Authorization: 'Bearer not.a.token' })],
    ['an expired token', () => ({ Authorization: bearer(expiredTokenOf(user, t.secrets.access)) })],
  ])('%s: the header repeats the 401 body message', async (_label, headers) => {
    const res = await t.http().get('/api/auth/verify').set(headers());
    expectErrorBody(res, 401);
    expect(res.headers['x-auth-message']).toBe(res.body.message);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('a 204 is not cacheable either: a revocation must be seen on the next check', async () => {
    const res = await t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken));
    expect({ status: res.status, cacheControl: res.headers['cache-control'] }).toEqual({
      status: 204,
      cacheControl: 'no-store',
    });
  });

  it('an expired token says so, and only verify adds the header', async () => {
    const expired = { Authorization: bearer(expiredTokenOf(user, t.secrets.access)) };
    expect((await t.http().get('/api/auth/verify').set(expired)).headers['x-auth-message']).toBe(
      'Access token expired',
    );
    const api = await t.http().get('/api/users/me').set(expired);
    expect(api.status).toBe(401);
    expect(api.headers['x-auth-message']).toBeUndefined();
  });
});

function expiredTokenOf(user: LoggedIn, secret: string): string {
  const claims = jwtPayload(user.accessToken);
  const iat = nowSeconds() - 3600;
  return signJwt(HS256_HEADER, { ...claims, iat, exp: iat + 900 }, secret);
}
