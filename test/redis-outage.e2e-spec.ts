import { createTestApp, type TestApp } from './support/test-app';
import { jwtPayload, login, registerAndLogin, type LoggedIn } from './support/auth-helpers';
import { bearer, expectErrorBody } from './support/contract-assertions';
import { eventually } from './support/instance-client';
import { startRedis, type RunningRedis } from './support/redis-server';

/**
 * Redis (REDIS_URL) goes away under a running app and comes back. Every request that needs the
 * revocation state must fail closed with 503 (never 200 for a token it cannot check, never 401 for a
 * valid one, never 500), say nothing of Redis, and the app must recover alone. This file owns its
 * Redis: stopping the run's shared one would break the other suites.
 *
 * The restarted Redis has no persistence, so the `live` keys are gone: access tokens issued before
 * the outage are then refused (401, fail closed) until the client refreshes, which goes through the
 * database.
 */

jest.setTimeout(60_000);

const RECOVERY_TIMEOUT_MS = 15_000;
const LEAKS =
  /redis|ECONNREFUSED|ECONNRESET|enableOfflineQueue|Connection is closed|ioredis|127\.0\.0\.1|\bat \S+ \(|node_modules|\.ts:\d|\.js:\d/i;
const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };

interface HttpResult {
  status: number;
  body: unknown;
  text: string;
  headers: Record<string, unknown>;
}

function expectUnavailable(res: HttpResult, what: string): void {
  expect({ what, status: res.status }).toEqual({ what, status: 503 });
  expectErrorBody(res, 503);
  expect(res.text).not.toMatch(LEAKS);
}

describe('Redis outage: fail closed with 503, stay up, recover', () => {
  let redis: RunningRedis | undefined;
  let port: number;
  let t: TestApp | undefined;
  /** Logged out while Redis is down. */
  let loggedOutDuringOutage: LoggedIn;
  /** Left alone: refreshed after the outage. */
  let bystander: LoggedIn;
  /** Refreshed while Redis is down: the database has rotated, the client never saw the successor. */
  let refreshedDuringOutage: LoggedIn;

  const app = (): TestApp => {
    if (!t) throw new Error('app not started');
    return t;
  };
  const me = (accessToken: string) => app().http().get('/api/users/me').set('Authorization', bearer(accessToken));
  const verify = (accessToken: string) =>
    app().http().get('/api/auth/verify').set('Authorization', bearer(accessToken));
  const refresh = (refreshToken: string) => app().http().post('/api/auth/refresh').send({ refreshToken });
  const logout = (accessToken: string) =>
    app().http().post('/api/auth/logout').set('Authorization', bearer(accessToken));

  beforeAll(async () => {
    redis = await startRedis();
    port = redis.port;
    // A long grace, so that replaying a refresh whose answer was lost to the outage is not timing-bound.
    t = await createTestApp({ REDIS_URL: redis.url, REFRESH_REUSE_GRACE: '1m' }, 'redisoutage');
    loggedOutDuringOutage = await registerAndLogin(t);
    bystander = await login(t, loggedOutDuringOutage.username);
    refreshedDuringOutage = await login(t, loggedOutDuringOutage.username);
    for (const session of [loggedOutDuringOutage, bystander, refreshedDuringOutage]) {
      expect((await me(session.accessToken)).status).toBe(200);
    }
  });

  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  describe('while Redis is down', () => {
    beforeAll(async () => {
      await redis?.stop();
      redis = undefined;
    });

    it('answers GET /api/users/me and GET /api/auth/verify with a valid token 503, with the contract body', async () => {
      expectUnavailable(await me(bystander.accessToken), 'GET /api/users/me');
      expectUnavailable(await verify(bystander.accessToken), 'GET /api/auth/verify');
      // Still 503 on a second try: not a one-off.
      expectUnavailable(await me(bystander.accessToken), 'GET /api/users/me again');
    });

    it('stays alive: /health/live answers 200', async () => {
      expect((await app().http().get('/health/live')).status).toBe(200);
    });

    it('answers a logout 503: the revocation cannot be published', async () => {
      const res = await logout(loggedOutDuringOutage.accessToken);
      expectUnavailable(res, 'POST /api/auth/logout');
    });

    it('answers a refresh 503 (no token handed out that no instance would accept)', async () => {
      const res = await refresh(refreshedDuringOutage.refreshToken);
      expectUnavailable(res, 'POST /api/auth/refresh');
      expect(JSON.stringify(res.body)).not.toMatch(/accessToken|refreshToken/);
    });
  });

  describe('after Redis is back (same port, no persistence)', () => {
    beforeAll(async () => {
      redis = await startRedis(port);
      // Bounded poll: the client reconnects on its own; anything but 503 means the check runs again.
      await eventually(async () => {
        const res = await me(bystander.accessToken);
        if (res.status === 503) throw new Error(`still 503 after restarting Redis: ${res.text}`);
      }, RECOVERY_TIMEOUT_MS);
    });

    it('refuses the access tokens issued before the outage (the live keys are lost: fail closed, 401)', async () => {
      for (const session of [bystander, refreshedDuringOutage, loggedOutDuringOutage]) {
        const res = await me(session.accessToken);
        expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
        expect((await verify(session.accessToken)).status).toBe(401);
      }
    });

    it('lets the client recover by refreshing: 200, and the new access token works', async () => {
      const rotated = await refresh(bystander.refreshToken);
      expect(rotated.status).toBe(200);
      expect(jwtPayload(rotated.body.accessToken).sid).toBe(jwtPayload(bystander.accessToken).sid);
      expect((await me(rotated.body.accessToken)).status).toBe(200);
      expect((await verify(rotated.body.accessToken)).status).toBe(204);
      bystander = { ...bystander, ...rotated.body };
    });

    it('answers the refresh whose response was lost to the outage within the grace: the session lives on', async () => {
      // The database rotated before Redis failed, so the client's token is now "the last rotated one".
      const replay = await refresh(refreshedDuringOutage.refreshToken);
      expect(replay.status).toBe(200);
      expect((await me(replay.body.accessToken)).status).toBe(200);
    });

    it('leaves the session whose logout was answered 503 refused everywhere, or fully usable and then revocable', async () => {
      // Observed: the logout never reached the revocation. It is a protected route, and the guard's
      // session check is itself a Redis lookup, so the request was refused with 503 before the handler
      // ran: nothing was written to the database or to Redis. After the restart the old access token is
      // refused (its `live` key is gone), the session is still listed, its refresh token still works,
      // and a retried logout with the refreshed access token revokes it everywhere. That is consistent:
      // the contract fixes what a 200 logout guarantees, and a 503 must not leave a half state in which
      // one path accepts the session while another treats it as gone. Both consistent outcomes are
      // accepted below (revoked on every path, or alive on every path and then revocable).
      const accessRes = await me(loggedOutDuringOutage.accessToken);
      expect(accessRes.status).toBe(401);

      const listed = await app().http().get('/api/auth/sessions').set('Authorization', bearer(bystander.accessToken));
      expect(listed.status).toBe(200);
      const listedIds = (listed.body as Array<{ id: string }>).map((s) => s.id);
      const sid = jwtPayload(loggedOutDuringOutage.accessToken).sid as string;

      const refreshRes = await refresh(loggedOutDuringOutage.refreshToken);
      if (refreshRes.status === 401) {
        expectErrorBody(refreshRes, 401);
        expect(listedIds).not.toContain(sid);
      } else {
        // Not revoked: still listed, and a retried logout must now succeed and revoke it everywhere.
        expect(refreshRes.status).toBe(200);
        expect(listedIds).toContain(sid);
        expect((await logout(refreshRes.body.accessToken)).status).toBe(200);
        expect((await me(refreshRes.body.accessToken)).status).toBe(401);
        expect((await refresh(refreshRes.body.refreshToken)).status).toBe(401);
      }
    });

    it('is healthy again: a new login works end to end', async () => {
      const fresh = await login(app(), bystander.username);
      expect((await me(fresh.accessToken)).status).toBe(200);
      expect((await logout(fresh.accessToken)).status).toBe(200);
      expect((await me(fresh.accessToken)).status).toBe(401);
    });
  });
});
