import type { Response } from 'supertest';
import { createTestApp, type TestApp } from './support/test-app';
import {
  cookieHeader,
  cookiesOf,
  jwtPayload,
  login,
  PASSWORD,
  register,
  registerAndLogin,
  setCookieHeaders,
  uniqueUsername,
  type LoggedIn,
  bearer,
} from './support/http';
import { expectErrorBody, expectUserShape } from './support/contract-assertions';
import { testClock } from './support/test-clock';

const DEFAULT_ACCESS_LIFETIME_SECONDS = 900;

describe('authentication flow', () => {
  let t: TestApp;
  beforeAll(async () => {
    // This file sends many requests to /api/auth/*; rate limiting is not what it tests.
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'authflow');
  });
  afterAll(async () => {
    await t.close();
  });

  const refreshWithBody = (refreshToken: string) => t.http().post('/api/auth/refresh').send({ refreshToken });
  const me = (accessToken: string) => t.http().get('/api/users/me').set('Authorization', bearer(accessToken));
  const verify = (accessToken: string) => t.http().get('/api/auth/verify').set('Authorization', bearer(accessToken));
  const logout = (accessToken: string) => t.http().post('/api/auth/logout').set('Authorization', bearer(accessToken));

  describe('register', () => {
    it('answers 201 with exactly {id, username, roles:["user"], createdAt}', async () => {
      const username = uniqueUsername('Reg');
      const res = await t.http().post('/api/auth/register').send({ username, password: PASSWORD });
      expect(res.status).toBe(201);
      expectUserShape(res.body, { username, roles: ['user'] });
    });

    it('treats usernames as unique regardless of case (409)', async () => {
      const suffix = uniqueUsername('').slice(1);
      await register(t, `Bob_x${suffix}`);
      const res = await t
        .http()
        .post('/api/auth/register')
        .send({ username: `bob_X${suffix}`, password: PASSWORD });
      expectErrorBody(res, 409);
    });
  });

  describe('login', () => {
    let user: LoggedIn;
    let res: Response;
    beforeAll(async () => {
      const { username, id } = await register(t);
      res = await t.http().post('/api/auth/login').send({ username, password: PASSWORD });
      user = await login(t, username, PASSWORD, id);
    });

    it('answers 200 with exactly the token pair, expiresIn in seconds', () => {
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
      expect(typeof res.body.accessToken).toBe('string');
      expect(typeof res.body.refreshToken).toBe('string');
      expect(res.body.tokenType).toBe('Bearer');
      expect(res.body.expiresIn).toBe(DEFAULT_ACCESS_LIFETIME_SECONDS);
    });

    it('sets both cookies to the tokens of the body and forbids caching', () => {
      expect(cookiesOf(setCookieHeaders(res))).toEqual({
        accessToken: res.body.accessToken,
        refreshToken: res.body.refreshToken,
      });
      expect(res.headers['cache-control']).toMatch(/\bno-store\b/);
    });

    it('issues an HS256 access token carrying sub, sid, jti, iat and exp', () => {
      const header = JSON.parse(Buffer.from(user.accessToken.split('.')[0], 'base64url').toString('utf8'));
      expect(header.alg).toBe('HS256');
      const payload = jwtPayload(user.accessToken);
      expect(payload.sub).toBe(user.userId);
      expect(typeof payload.sid).toBe('string');
      expect(typeof payload.jti).toBe('string');
      expect(typeof payload.iat).toBe('number');
      expect(payload.exp).toBe((payload.iat as number) + DEFAULT_ACCESS_LIFETIME_SECONDS);
      // Each login is its own session with its own token id.
      expect(jwtPayload(res.body.accessToken).sid).not.toBe(payload.sid);
      expect(jwtPayload(res.body.accessToken).jti).not.toBe(payload.jti);
    });

    it('accepts the username in a different case', async () => {
      const other = await t
        .http()
        .post('/api/auth/login')
        .send({ username: user.username.toUpperCase(), password: PASSWORD });
      expect(other.status).toBe(200);
      expect(jwtPayload(other.body.accessToken).sub).toBe(user.userId);
    });

    it('fails with one identical 401 body for an unknown user and a wrong password', async () => {
      const unknown = await t
        .http()
        .post('/api/auth/login')
        .send({ username: uniqueUsername('ghost'), password: PASSWORD });
      const wrong = await t
        .http()
        .post('/api/auth/login')
        .send({ username: user.username, password: `${PASSWORD}!` });
      expectErrorBody(unknown, 401);
      expectErrorBody(wrong, 401);
      expect(wrong.body).toEqual(unknown.body);
      expect(setCookieHeaders(unknown)).toEqual([]);
      expect(setCookieHeaders(wrong)).toEqual([]);
    });
  });

  describe('using the access token', () => {
    let user: LoggedIn;
    beforeAll(async () => {
      user = await registerAndLogin(t);
    });

    it('GET /api/users/me answers the caller with a Bearer header', async () => {
      const res = await me(user.accessToken);
      expect(res.status).toBe(200);
      expectUserShape(res.body, { id: user.userId, username: user.username, roles: ['user'] });
    });

    it('takes the Bearer scheme case-insensitively', async () => {
      const res = await t.http().get('/api/users/me').set('Authorization', `bearer ${user.accessToken}`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.userId);
    });

    it('GET /api/users/me answers the caller with the accessToken cookie', async () => {
      const res = await t.http().get('/api/users/me').set('Cookie', `accessToken=${user.accessToken}`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(user.userId);
    });

    it('GET /api/auth/verify answers 204 with the identity of the token in headers', async () => {
      const payload = jwtPayload(user.accessToken);
      const res = await verify(user.accessToken);
      expect(res.status).toBe(204);
      expect(res.headers['x-user-id']).toBe(payload.sub);
      expect(res.headers['x-user-roles']).toBe('user');
      expect(res.headers['x-session-id']).toBe(payload.sid);
    });
  });

  describe('refresh', () => {
    it('from the body: answers the new pair in the body, sets no cookie, forbids caching', async () => {
      const user = await registerAndLogin(t);
      const res = await refreshWithBody(user.refreshToken);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: DEFAULT_ACCESS_LIFETIME_SECONDS });
      expect(res.body.refreshToken).not.toBe(user.refreshToken);
      expect(setCookieHeaders(res)).toEqual([]);
      expect(res.headers['cache-control']).toMatch(/\bno-store\b/);
      // Same session, new access token that works.
      expect(jwtPayload(res.body.accessToken).sid).toBe(jwtPayload(user.accessToken).sid);
      expect((await me(res.body.accessToken)).status).toBe(200);
    });

    it('from the cookie: sets both cookies and answers exactly {tokenType, expiresIn}', async () => {
      const user = await registerAndLogin(t);
      const res = await t.http().post('/api/auth/refresh').set('Cookie', `refreshToken=${user.refreshToken}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ tokenType: 'Bearer', expiresIn: DEFAULT_ACCESS_LIFETIME_SECONDS });
      expect(res.headers['cache-control']).toMatch(/\bno-store\b/);
      const cookies = cookiesOf(setCookieHeaders(res));
      expect(Object.keys(cookies).sort()).toEqual(['accessToken', 'refreshToken']);
      expect(cookies.refreshToken).not.toBe(user.refreshToken);
      const viaCookie = await t
        .http()
        .get('/api/users/me')
        .set('Cookie', cookieHeader({ accessToken: cookies.accessToken }));
      expect(viaCookie.status).toBe(200);
      expect((await refreshWithBody(cookies.refreshToken)).status).toBe(200);
    });

    it('refuses a token sent in both the cookie and the body (400)', async () => {
      const user = await registerAndLogin(t);
      const res = await t
        .http()
        .post('/api/auth/refresh')
        .set('Cookie', `refreshToken=${user.refreshToken}`)
        .send({ refreshToken: user.refreshToken });
      expectErrorBody(res, 400);
      expect(setCookieHeaders(res)).toEqual([]);
    });

    it('refuses a request without any refresh token (401)', async () => {
      expectErrorBody(await t.http().post('/api/auth/refresh'), 401);
      expectErrorBody(await t.http().post('/api/auth/refresh').send({}), 401);
    });

    it('rotates: the successor works, a token older than the last rotated one is refused', async () => {
      const user = await registerAndLogin(t);
      const first = await refreshWithBody(user.refreshToken);
      expect(first.status).toBe(200);
      const second = await refreshWithBody(first.body.refreshToken);
      expect(second.status).toBe(200);
      // user.refreshToken is older than the last rotated one (first's): reuse whatever the grace period.
      const reused = await refreshWithBody(user.refreshToken);
      expectErrorBody(reused, 401);
      expect(reused.body.accessToken).toBeUndefined();
    });

    it('never accepts the access token as a refresh token', async () => {
      const user = await registerAndLogin(t);
      expectErrorBody(await refreshWithBody(user.accessToken), 401);
    });
  });

  describe('logout', () => {
    it('answers 200 {"message":"User logged out"}', async () => {
      const user = await registerAndLogin(t);
      const res = await logout(user.accessToken);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ message: 'User logged out' });
    });

    it('revokes the unexpired access token and the latest refresh token of the session', async () => {
      const user = await registerAndLogin(t);
      const rotated = await refreshWithBody(user.refreshToken);
      expect(rotated.status).toBe(200);
      const { accessToken, refreshToken } = rotated.body as { accessToken: string; refreshToken: string };
      expect((await logout(accessToken)).status).toBe(200);

      expectErrorBody(await me(accessToken), 401);
      expectErrorBody(await verify(accessToken), 401);
      // The session's earlier access token too, although it has not expired either.
      expectErrorBody(await me(user.accessToken), 401);
      expectErrorBody(await t.http().get('/api/users/me').set('Cookie', `accessToken=${accessToken}`), 401);
      expectErrorBody(await refreshWithBody(refreshToken), 401);
    });

    it('leaves the other sessions of the same user alive', async () => {
      const first = await registerAndLogin(t);
      const second = await login(t, first.username, PASSWORD, first.userId);
      expect((await logout(first.accessToken)).status).toBe(200);

      expect((await me(first.accessToken)).status).toBe(401);
      expect((await me(second.accessToken)).status).toBe(200);
      expect((await verify(second.accessToken)).status).toBe(204);
      expect((await refreshWithBody(second.refreshToken)).status).toBe(200);
    });
  });

  describe('two instances sharing one database', () => {
    let other: TestApp;
    beforeAll(async () => {
      const sameDatabaseAndSecrets = {
        AUTH_RATE_LIMIT: '0',
        MONGODB_DB_NAME: t.dbName,
        ACCESS_TOKEN_SECRET: t.secrets.access,
        REFRESH_TOKEN_SECRET: t.secrets.refresh,
      };
      other = await createTestApp(sameDatabaseAndSecrets, 'authflow');
    });
    afterAll(async () => {
      // The database is t's: it drops it in the outer afterAll.
      await other.app.close();
    });

    it('refuses on instance B, on the very next request, a token logged out on instance A', async () => {
      const user = await registerAndLogin(t);
      const onB = () => other.http().get('/api/users/me').set('Authorization', bearer(user.accessToken));
      expect((await onB()).status).toBe(200);

      expect((await logout(user.accessToken)).status).toBe(200);
      expectErrorBody(await onB(), 401);
      expectErrorBody(await other.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken)), 401);
      expectErrorBody(await other.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }), 401);
    });
  });

  describe('with REFRESH_REUSE_GRACE=0', () => {
    let noGrace: TestApp;
    beforeAll(async () => {
      noGrace = await createTestApp({ AUTH_RATE_LIMIT: '0', REFRESH_REUSE_GRACE: '0' }, 'nograce');
    });
    afterAll(async () => {
      await noGrace.close();
    });

    it('a refresh token is single-use: presenting it again after rotation is refused (401)', async () => {
      const user = await registerAndLogin(noGrace);
      const rotated = await noGrace.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken });
      expect(rotated.status).toBe(200);
      expectErrorBody(await noGrace.http().post('/api/auth/refresh').send({ refreshToken: user.refreshToken }), 401);
    });
  });

  describe('with ACCESS_TOKEN_EXPIRY=1m, counted on the Clock', () => {
    let shortLived: TestApp;
    beforeAll(async () => {
      shortLived = await createTestApp({ AUTH_RATE_LIMIT: '0', ACCESS_TOKEN_EXPIRY: '1m' }, 'expiry');
    });
    afterAll(async () => {
      await shortLived.close();
    });

    const presented = (accessToken: string) =>
      ['/api/users/me', '/api/auth/verify'].map((path) =>
        shortLived.http().get(path).set('Authorization', bearer(accessToken)),
      );

    it('accepts the access token until the second of its exp, then refuses it with "Access token expired" and error="invalid_token"', async () => {
      const user = await registerAndLogin(shortLived);
      const payload = jwtPayload(user.accessToken);
      const exp = payload.exp as number;
      expect(exp).toBe((payload.iat as number) + 60);

      // Just before exp (with room for the requests themselves): still accepted on both routes.
      testClock.advanceTo(exp * 1000 - 2_000);
      expect((await Promise.all(presented(user.accessToken))).map((res) => res.status)).toEqual([200, 204]);

      // From the second of exp on, by the app's Clock: refused on both.
      testClock.advanceTo(exp * 1000);
      for (const res of await Promise.all(presented(user.accessToken))) {
        expectErrorBody(res, 401);
        expect(res.body.message).toBe('Access token expired');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
    });
  });
});
