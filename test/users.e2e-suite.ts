import { createTestApp, type TestApp } from './support/test-app';
import { login, PASSWORD, registerAndLogin, uniqueUsername, type LoggedIn, bearer } from './support/http';
import { expectErrorBody, expectUserShape } from './support/contract-assertions';

const ADMIN_USERNAME = 'Root_Admin';
const ADMIN_PASSWORD = 'admin password from the environment';

describe('users and roles', () => {
  let t: TestApp;
  let admin: LoggedIn;
  let plain: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', ADMIN_USERNAME, ADMIN_PASSWORD }, 'users');
    admin = await login(t, ADMIN_USERNAME, ADMIN_PASSWORD);
    plain = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const listUsers = (accessToken: string) => t.http().get('/api/users').set('Authorization', bearer(accessToken));

  describe('GET /api/users', () => {
    it('refuses a plain user with 403 and the contract error body', async () => {
      const res = await listUsers(plain.accessToken);
      expectErrorBody(res, 403);
      expect(res.body.error).toBe('Forbidden');
    });

    it('refuses a caller without a token with 401, not 403', async () => {
      expectErrorBody(await t.http().get('/api/users'), 401);
    });

    it('answers an administrator with every user, each in the user shape (no hash)', async () => {
      const res = await listUsers(admin.accessToken);
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      for (const user of res.body as unknown[]) expectUserShape(user);
      const byName = new Map((res.body as Array<{ username: string; roles: string[] }>).map((u) => [u.username, u]));
      expect(byName.get(ADMIN_USERNAME)?.roles).toEqual(['admin', 'user']);
      expect(byName.get(plain.username)?.roles).toEqual(['user']);
    });
  });

  describe('first administrator from ADMIN_USERNAME / ADMIN_PASSWORD', () => {
    it('can log in and has roles ["admin","user"]', async () => {
      const res = await t.http().get('/api/users/me').set('Authorization', bearer(admin.accessToken));
      expect(res.status).toBe(200);
      expectUserShape(res.body, { username: ADMIN_USERNAME, roles: ['admin', 'user'] });
    });

    it('carries both roles, comma-separated, in X-User-Roles', async () => {
      const res = await t.http().get('/api/auth/verify').set('Authorization', bearer(admin.accessToken));
      expect(res.status).toBe(204);
      expect(res.headers['x-user-roles']?.split(',').sort()).toEqual(['admin', 'user']);
    });

    it('is not created twice nor overwritten when a second app boots on the same database', async () => {
      const second = await createTestApp(
        {
          AUTH_RATE_LIMIT: '0',
          MONGODB_DB_NAME: t.dbName,
          ACCESS_TOKEN_SECRET: t.secrets.access,
          REFRESH_TOKEN_SECRET: t.secrets.refresh,
          ADMIN_USERNAME,
          // A user of that name exists: the variables must not change it.
          ADMIN_PASSWORD: `${ADMIN_PASSWORD} rotated`,
        },
        'users',
      );
      try {
        const res = await second.http().get('/api/users').set('Authorization', bearer(admin.accessToken));
        expect(res.status).toBe(200);
        const admins = (res.body as Array<{ username: string }>).filter(
          (user) => user.username.toLowerCase() === ADMIN_USERNAME.toLowerCase(),
        );
        expect(admins).toHaveLength(1);
        await login(second, ADMIN_USERNAME, ADMIN_PASSWORD);
        const withNewPassword = await second
          .http()
          .post('/api/auth/login')
          .send({ username: ADMIN_USERNAME, password: `${ADMIN_PASSWORD} rotated` });
        expectErrorBody(withNewPassword, 401);
      } finally {
        // The database is t's: it is dropped once, by t.close().
        await second.app.close();
      }
    });
  });

  describe('roles of a new user', () => {
    it('are ["user"] on register and on /me', async () => {
      const registered = await t
        .http()
        .post('/api/auth/register')
        .send({ username: uniqueUsername(), password: PASSWORD });
      expect(registered.status).toBe(201);
      expect(registered.body.roles).toEqual(['user']);
      const res = await t.http().get('/api/users/me').set('Authorization', bearer(plain.accessToken));
      expect(res.status).toBe(200);
      expect(res.body.roles).toEqual(['user']);
    });

    it.each([
      ['["admin"]', ['admin']],
      ['["admin","user"]', ['admin', 'user']],
      ['"admin"', 'admin'],
    ])('cannot be chosen: a register body with roles %s is refused (400) and creates nobody', async (_label, roles) => {
      const username = uniqueUsername('climber');
      const res = await t.http().post('/api/auth/register').send({ username, password: PASSWORD, roles });
      expectErrorBody(res, 400);
      const loginAttempt = await t.http().post('/api/auth/login').send({ username, password: PASSWORD });
      expectErrorBody(loginAttempt, 401);
    });
  });
});
