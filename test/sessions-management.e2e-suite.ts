import { Types } from 'mongoose';
import { createTestApp, type TestApp } from './support/test-app';
import {
  jwtPayload,
  login,
  PASSWORD,
  register,
  registerAndLogin,
  setCookieHeaders,
  type LoggedIn,
  bearer,
} from './support/http';
import { expectClearedCookie, expectErrorBody, findSetCookie } from './support/contract-assertions';
import { testClock } from './support/test-clock';

/**
 * docs/http-api.md: GET/DELETE /api/auth/sessions, logout-all, password change and account deletion,
 * each checked by what happens to the access and refresh tokens of every session afterwards.
 */

jest.setTimeout(30_000);

const ADMIN_USERNAME = 'Sessions_Admin';
const ADMIN_PASSWORD = 'admin password for the sessions suite';
const SESSION_KEYS = ['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent'];

interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  userAgent: string | null;
  ip: string | null;
  current: boolean;
}

describe('session management', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ADMIN_USERNAME, ADMIN_PASSWORD }, 'sessions');
  });
  afterAll(async () => {
    await t?.close();
  });

  const sid = (user: LoggedIn) => jwtPayload(user.accessToken).sid as string;
  const me = (accessToken: string) => t.http().get('/api/users/me').set('Authorization', bearer(accessToken));
  const refresh = (refreshToken: string) => t.http().post('/api/auth/refresh').send({ refreshToken });
  const listSessions = (accessToken: string) =>
    t.http().get('/api/auth/sessions').set('Authorization', bearer(accessToken));
  const deleteSession = (accessToken: string, id: string) =>
    t.http().delete(`/api/auth/sessions/${id}`).set('Authorization', bearer(accessToken));
  const changePassword = (accessToken: string, body: unknown) =>
    t
      .http()
      .patch('/api/users/me/password')
      .set('Authorization', bearer(accessToken))
      .send(body as object);

  async function loginWithAgent(username: string, userAgent: string, password = PASSWORD): Promise<LoggedIn> {
    const res = await t.http().post('/api/auth/login').set('User-Agent', userAgent).send({ username, password });
    expect(res.status).toBe(200);
    return {
      username,
      password,
      userId: '',
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      cookies: {},
      setCookie: [],
    };
  }

  /** Both tokens of the session still work (the refresh rotates, so it is checked last). */
  async function expectSessionWorks(user: LoggedIn): Promise<void> {
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken))).status).toBe(204);
  }

  async function expectSessionRevoked(user: LoggedIn): Promise<void> {
    expectErrorBody(await me(user.accessToken), 401);
    expectErrorBody(await t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken)), 401);
    expectErrorBody(await refresh(user.refreshToken), 401);
  }

  describe('GET /api/auth/sessions', () => {
    it("lists exactly the caller's live sessions as {id, createdAt, lastUsedAt, userAgent, ip, current}", async () => {
      const { username } = await register(t);
      // The app dates sessions on its Clock (testClock), ahead of the machine's time.
      const before = testClock.now();
      const desktop = await loginWithAgent(username, 'Desktop-Agent/1.0');
      const phone = await loginWithAgent(username, 'Phone-Agent/2.0');
      const headless = await login(t, username); // supertest sends no User-Agent
      const stranger = await registerAndLogin(t);

      const res = await listSessions(desktop.accessToken);
      expect(res.status).toBe(200);
      const sessions = res.body as SessionView[];
      expect(sessions.map((s) => s.id).sort()).toEqual([sid(desktop), sid(phone), sid(headless)].sort());
      expect(sessions.map((s) => s.id)).not.toContain(sid(stranger));

      for (const session of sessions) {
        expect(Object.keys(session).sort()).toEqual(SESSION_KEYS);
        for (const date of [session.createdAt, session.lastUsedAt]) {
          expect(typeof date).toBe('string');
          expect(new Date(date).toISOString()).toBe(date);
          expect(new Date(date).getTime()).toBeGreaterThanOrEqual(before - 5000);
          expect(new Date(date).getTime()).toBeLessThanOrEqual(testClock.now() + 5000);
        }
        expect(session.ip === null || typeof session.ip === 'string').toBe(true);
        expect(session.current).toBe(session.id === sid(desktop));
      }
      const byId = new Map(sessions.map((s) => [s.id, s]));
      expect(byId.get(sid(desktop))?.userAgent).toBe('Desktop-Agent/1.0');
      expect(byId.get(sid(phone))?.userAgent).toBe('Phone-Agent/2.0');
      expect(byId.get(sid(headless))?.userAgent).toBeNull();

      // From another session, that one is the current one.
      const fromPhone = (await listSessions(phone.accessToken)).body as SessionView[];
      expect(fromPhone.filter((s) => s.current).map((s) => s.id)).toEqual([sid(phone)]);
    });

    it("drops a revoked session from the list, and never shows another user's sessions", async () => {
      const user = await registerAndLogin(t);
      const second = await login(t, user.username);
      const stranger = await login(t, (await register(t)).username);
      expect((await t.http().post('/api/auth/logout').set('Authorization', bearer(second.accessToken))).status).toBe(
        200,
      );

      const ids = ((await listSessions(user.accessToken)).body as SessionView[]).map((s) => s.id);
      expect(ids).toEqual([sid(user)]);
      const strangerIds = ((await listSessions(stranger.accessToken)).body as SessionView[]).map((s) => s.id);
      expect(strangerIds).toEqual([sid(stranger)]);
    });
  });

  describe('DELETE /api/auth/sessions/:id', () => {
    it("answers 204; that session's tokens get 401, the caller's other sessions keep working", async () => {
      const caller = await registerAndLogin(t);
      const laptop = await login(t, caller.username);
      const tablet = await login(t, caller.username);

      const res = await deleteSession(caller.accessToken, sid(laptop));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      await expectSessionRevoked(laptop);
      await expectSessionWorks(caller);
      await expectSessionWorks(tablet);
      expect((await refresh(tablet.refreshToken)).status).toBe(200);
      expect((await refresh(caller.refreshToken)).status).toBe(200);
    });

    it("answers 404 for another user's session, which keeps working", async () => {
      const caller = await registerAndLogin(t);
      const victim = await registerAndLogin(t);
      expectErrorBody(await deleteSession(caller.accessToken, sid(victim)), 404);
      await expectSessionWorks(victim);
      expect((await refresh(victim.refreshToken)).status).toBe(200);
    });

    it('answers 404 for a nonexistent id, a malformed id and an already revoked session', async () => {
      const caller = await registerAndLogin(t);
      const gone = await login(t, caller.username);
      expect((await deleteSession(caller.accessToken, sid(gone))).status).toBe(204);

      expectErrorBody(await deleteSession(caller.accessToken, new Types.ObjectId().toHexString()), 404);
      expectErrorBody(await deleteSession(caller.accessToken, 'abc'), 404);
      expectErrorBody(await deleteSession(caller.accessToken, sid(gone)), 404);
      await expectSessionWorks(caller);
    });
  });

  describe('POST /api/auth/logout-all', () => {
    it('answers 200 {"message":"Logged out of all sessions"} and clears both cookies with the attributes they were set with', async () => {
      const user = await registerAndLogin(t);
      const res = await t.http().post('/api/auth/logout-all').set('Authorization', bearer(user.accessToken));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ message: 'Logged out of all sessions' });

      const cleared = setCookieHeaders(res);
      for (const name of ['accessToken', 'refreshToken']) {
        const set = findSetCookie(user.setCookie, name);
        const clear = findSetCookie(cleared, name);
        expectClearedCookie(clear);
        expect(clear.value).toBe('');
        for (const attribute of ['path', 'httponly', 'secure', 'samesite']) {
          expect({ name, attribute, value: clear.attributes[attribute] }).toEqual({
            name,
            attribute,
            value: set.attributes[attribute],
          });
        }
      }
    });

    it("revokes every session of the user, the caller's included, and no other user's", async () => {
      const caller = await registerAndLogin(t);
      const phone = await login(t, caller.username);
      const rotatedPhone = await refresh(phone.refreshToken);
      expect(rotatedPhone.status).toBe(200);
      const bystander = await registerAndLogin(t);

      expect(
        (await t.http().post('/api/auth/logout-all').set('Authorization', bearer(caller.accessToken))).status,
      ).toBe(200);

      await expectSessionRevoked(caller);
      await expectSessionRevoked({ ...phone, ...rotatedPhone.body });
      expectErrorBody(await me(phone.accessToken), 401);
      await expectSessionWorks(bystander);
      expect((await refresh(bystander.refreshToken)).status).toBe(200);
    });
  });

  describe('PATCH /api/users/me/password', () => {
    const NEW_PASSWORD = 'a brand new passphrase';

    it("answers 204, revokes every other session, keeps the caller's; only the new password logs in", async () => {
      const caller = await registerAndLogin(t);
      const other1 = await login(t, caller.username);
      const other2 = await login(t, caller.username);
      const bystander = await registerAndLogin(t);

      const res = await changePassword(caller.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      await expectSessionRevoked(other1);
      await expectSessionRevoked(other2);
      await expectSessionWorks(caller);
      await expectSessionWorks(bystander);
      const callerRefresh = await refresh(caller.refreshToken);
      expect(callerRefresh.status).toBe(200);
      expect((await me(callerRefresh.body.accessToken)).status).toBe(200);

      expectErrorBody(
        await t.http().post('/api/auth/login').send({ username: caller.username, password: PASSWORD }),
        401,
      );
      expect(
        (await t.http().post('/api/auth/login').send({ username: caller.username, password: NEW_PASSWORD })).status,
      ).toBe(200);
    });

    it('answers 403 to a wrong currentPassword and revokes nothing', async () => {
      const caller = await registerAndLogin(t);
      const other = await login(t, caller.username);
      expectErrorBody(
        await changePassword(caller.accessToken, { currentPassword: 'not the password', newPassword: NEW_PASSWORD }),
        403,
      );

      await expectSessionWorks(caller);
      await expectSessionWorks(other);
      expect((await refresh(other.refreshToken)).status).toBe(200);
      expect(
        (await t.http().post('/api/auth/login').send({ username: caller.username, password: PASSWORD })).status,
      ).toBe(200);
    });

    it.each([
      ['a newPassword under 8 characters', { currentPassword: PASSWORD, newPassword: 'short' }],
      ['an extra property', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, roles: ['admin'] }],
      ['a non-string newPassword', { currentPassword: PASSWORD, newPassword: { $ne: null } }],
      ['a non-string currentPassword', { currentPassword: 12345678, newPassword: NEW_PASSWORD }],
      ['a missing currentPassword', { newPassword: NEW_PASSWORD }],
    ])('answers 400 to %s and changes nothing', async (_name, body) => {
      const caller = await registerAndLogin(t);
      const other = await login(t, caller.username);
      expectErrorBody(await changePassword(caller.accessToken, body), 400);
      await expectSessionWorks(other);
      expect(
        (await t.http().post('/api/auth/login').send({ username: caller.username, password: PASSWORD })).status,
      ).toBe(200);
    });
  });

  describe('DELETE /api/users/me', () => {
    it('answers 204; every session is revoked, the credentials stop working, the name is free again', async () => {
      const admin = await login(t, ADMIN_USERNAME, ADMIN_PASSWORD);
      const caller = await registerAndLogin(t);
      const userId = jwtPayload(caller.accessToken).sub as string;
      const other = await login(t, caller.username);
      const listUsers = async () => {
        const res = await t.http().get('/api/users').set('Authorization', bearer(admin.accessToken));
        expect(res.status).toBe(200);
        return res.body as Array<{ id: string; username: string }>;
      };
      expect((await listUsers()).map((u) => u.id)).toContain(userId);

      const res = await t.http().delete('/api/users/me').set('Authorization', bearer(caller.accessToken));
      expect(res.status).toBe(204);
      expect(res.text).toBe('');

      await expectSessionRevoked(caller);
      await expectSessionRevoked(other);
      expectErrorBody(
        await t.http().post('/api/auth/login').send({ username: caller.username, password: PASSWORD }),
        401,
      );
      const listed = await listUsers();
      expect(listed.map((u) => u.id)).not.toContain(userId);
      expect(listed.map((u) => u.username)).not.toContain(caller.username);

      const again = await t.http().post('/api/auth/register').send({ username: caller.username, password: PASSWORD });
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(userId);
      // The old tokens do not come back to life for the new account of the same name.
      await expectSessionRevoked(caller);
    });
  });
});
