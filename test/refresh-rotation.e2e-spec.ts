import { createTestApp, type TestApp } from './support/test-app';
import {
  cookiesOf,
  jwtPayload,
  login,
  register,
  registerAndLogin,
  setCookieHeaders,
  bearer,
  sleep,
} from './support/http';
import { expectErrorBody } from './support/contract-assertions';

/**
 * docs/http-api.md, Tokens: rotation, the REFRESH_REUSE_GRACE window, reuse detection (the whole
 * session is revoked), concurrent refreshes, and the two session lifetimes (REFRESH_TOKEN_EXPIRY,
 * SESSION_MAX_LIFETIME). The waits for the lifetimes run concurrently: about 5 s in all.
 */

jest.setTimeout(30_000);

const CONCURRENT_REFRESHES = 8;
const RACE_ROUNDS = 10;

function client(t: TestApp) {
  return {
    refresh: (refreshToken: string) => t.http().post('/api/auth/refresh').send({ refreshToken }),
    refreshWithCookie: (refreshToken: string) =>
      t.http().post('/api/auth/refresh').set('Cookie', `refreshToken=${refreshToken}`),
    me: (accessToken: string) => t.http().get('/api/users/me').set('Authorization', bearer(accessToken)),
  };
}

/**
 * Rotates a new session's refresh token once, waits `waitMs`, then presents the rotated token again,
 * which must now be reuse: 401, and the successor and its access token fail too. Returns the
 * session's first tokens.
 */
async function expectRotatedTokenReuseAfter(t: TestApp, api: ReturnType<typeof client>, waitMs: number) {
  const user = await registerAndLogin(t);
  const rotated = await api.refresh(user.refreshToken);
  expect(rotated.status).toBe(200);
  if (waitMs > 0) await sleep(waitMs);

  expectErrorBody(await api.refresh(user.refreshToken), 401);
  expectErrorBody(await api.refresh(rotated.body.refreshToken), 401);
  expectErrorBody(await api.me(rotated.body.accessToken), 401);
  return user;
}

describe('refresh token rotation with the default grace period (10 s)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({}, 'rotation');
    api = client(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rotates on every refresh: each successor differs from every earlier token and stays in the session', async () => {
    const user = await registerAndLogin(t);
    const sid = jwtPayload(user.accessToken).sid;
    const seen = [user.refreshToken];
    let current = user.refreshToken;
    for (let i = 0; i < 3; i++) {
      const res = await api.refresh(current);
      expect(res.status).toBe(200);
      expect(seen).not.toContain(res.body.refreshToken);
      expect(jwtPayload(res.body.accessToken).sid).toBe(sid);
      expect((await api.me(res.body.accessToken)).status).toBe(200);
      seen.push(res.body.refreshToken);
      current = res.body.refreshToken;
    }
  });

  it('supersedes the presented token: presented again it yields its known successor, never a new one', async () => {
    const user = await registerAndLogin(t);
    const first = await api.refresh(user.refreshToken);
    expect(first.status).toBe(200);
    const again = await api.refresh(user.refreshToken);
    expect(again.status).toBe(200);
    expect(again.body.refreshToken).toBe(first.body.refreshToken);
  });

  it('answers the last rotated token within the grace with the SAME successor and a new access token (body)', async () => {
    const user = await registerAndLogin(t);
    const rotated = await api.refresh(user.refreshToken);
    expect(rotated.status).toBe(200);

    const replay = await api.refresh(user.refreshToken);
    expect(replay.status).toBe(200);
    expect(Object.keys(replay.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
    expect(replay.body.refreshToken).toBe(rotated.body.refreshToken);
    expect(replay.body.accessToken).not.toBe(rotated.body.accessToken);
    expect(jwtPayload(replay.body.accessToken).jti).not.toBe(jwtPayload(rotated.body.accessToken).jti);
    expect(jwtPayload(replay.body.accessToken).sid).toBe(jwtPayload(user.accessToken).sid);
    expect(setCookieHeaders(replay)).toEqual([]);
    expect(replay.headers['cache-control']).toMatch(/\bno-store\b/);

    // Nothing was revoked: both access tokens work and the successor rotates normally.
    expect((await api.me(replay.body.accessToken)).status).toBe(200);
    expect((await api.me(rotated.body.accessToken)).status).toBe(200);
    expect((await api.refresh(rotated.body.refreshToken)).status).toBe(200);
  });

  it('answers the last rotated token within the grace with the SAME successor cookie (cookie mode)', async () => {
    const user = await registerAndLogin(t);
    const rotated = await api.refreshWithCookie(user.refreshToken);
    expect(rotated.status).toBe(200);
    const successor = cookiesOf(setCookieHeaders(rotated)).refreshToken;
    expect(successor).toBeTruthy();
    expect(successor).not.toBe(user.refreshToken);

    const replay = await api.refreshWithCookie(user.refreshToken);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ tokenType: 'Bearer', expiresIn: expect.any(Number) });
    const cookies = cookiesOf(setCookieHeaders(replay));
    expect(cookies.refreshToken).toBe(successor);
    expect(cookies.accessToken).toBeTruthy();
    expect(cookies.accessToken).not.toBe(cookiesOf(setCookieHeaders(rotated)).accessToken);
    expect(replay.headers['cache-control']).toMatch(/\bno-store\b/);
    const viaCookie = await t.http().get('/api/users/me').set('Cookie', `accessToken=${cookies.accessToken}`);
    expect(viaCookie.status).toBe(200);
  });

  it('treats an OLDER token (two rotations back) as reuse: 401 and the whole session is revoked', async () => {
    const user = await registerAndLogin(t);
    const otherSession = await login(t, user.username, user.password);
    const first = await api.refresh(user.refreshToken);
    const second = await api.refresh(first.body.refreshToken);
    expect([first.status, second.status]).toEqual([200, 200]);

    const reused = await api.refresh(user.refreshToken);
    expectErrorBody(reused, 401);
    expect(reused.body.accessToken).toBeUndefined();
    expect(reused.body.refreshToken).toBeUndefined();
    expect(setCookieHeaders(reused).filter((line) => /^(access|refresh)Token=[^;]/.test(line))).toEqual([]);

    // The newest refresh token and every access token of that session are refused now.
    expectErrorBody(await api.refresh(second.body.refreshToken), 401);
    expectErrorBody(await api.me(second.body.accessToken), 401);
    expectErrorBody(await api.me(first.body.accessToken), 401);
    expectErrorBody(await api.me(user.accessToken), 401);
    // Another session of the same user is a session of its own.
    expect((await api.me(otherSession.accessToken)).status).toBe(200);
    expect((await api.refresh(otherSession.refreshToken)).status).toBe(200);
  });

  it(`answers ${CONCURRENT_REFRESHES} concurrent refreshes with one token all 200, all with the same successor`, async () => {
    const user = await registerAndLogin(t);
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_REFRESHES }, () => api.refresh(user.refreshToken)),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(CONCURRENT_REFRESHES).fill(200));
    const successors = new Set(responses.map((res) => res.body.refreshToken as string));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect(successor).not.toBe(user.refreshToken);

    // The session is intact: every access token handed out works and the successor rotates.
    for (const res of responses) expect((await api.me(res.body.accessToken)).status).toBe(200);
    expect((await api.refresh(successor)).status).toBe(200);
  });
});

describe('REFRESH_REUSE_GRACE=0', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '0' }, 'nograce');
    api = client(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('treats presenting a rotated token again as reuse: 401, and the successor and access tokens fail', async () => {
    await expectRotatedTokenReuseAfter(t, api, 0);
  });

  it(`lets exactly one of ${CONCURRENT_REFRESHES} concurrent refreshes win; the others are reuse and revoke the session`, async () => {
    // Races do not happen the same way every time: several bursts, each on a session of its own.
    const user = await registerAndLogin(t);
    const rounds: Array<{
      round: number;
      statuses: number[];
      winnerAccess: number | null;
      winnerRefresh: number | null;
      first: number;
    }> = [];
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const session = round === 0 ? user : await login(t, user.username, user.password);
      const responses = await Promise.all(
        Array.from({ length: CONCURRENT_REFRESHES }, () => api.refresh(session.refreshToken)),
      );
      for (const res of responses.filter((r) => r.status === 401)) expectErrorBody(res, 401);
      // The losers were reuse: the winner's freshly issued tokens are refused too.
      const winner = responses.find((res) => res.status === 200);
      rounds.push({
        round,
        statuses: responses.map((res) => res.status).sort(),
        winnerAccess: winner ? (await api.me(winner.body.accessToken)).status : null,
        winnerRefresh: winner ? (await api.refresh(winner.body.refreshToken)).status : null,
        first: (await api.me(session.accessToken)).status,
      });
    }
    expect(rounds.flatMap((r) => r.statuses).filter((status) => status >= 500)).toEqual([]);
    expect(rounds).toEqual(
      rounds.map(({ round }) => ({
        round,
        statuses: [200, ...Array(CONCURRENT_REFRESHES - 1).fill(401)],
        winnerAccess: 401,
        winnerRefresh: 401,
        first: 401,
      })),
    );
  });
});

/**
 * The three lifetimes below are waited for at once: each scenario runs on an app of its own, all three
 * are started in one beforeAll, and each test asserts what its scenario saw.
 */
describe('lifetimes (waited for concurrently)', () => {
  const apps: Record<'grace' | 'idle' | 'maxLifetime', TestApp> = {} as never;
  afterAll(async () => {
    await Promise.all(Object.values(apps).map((t) => t.close()));
  });

  /** REFRESH_REUSE_GRACE=1s: the rotated token presented again after ~1.3 s. */
  async function graceScenario() {
    const t = apps.grace;
    const api = client(t);
    const user = await registerAndLogin(t);
    const rotated = await api.refresh(user.refreshToken);
    await sleep(1300);
    return {
      rotated: rotated.status,
      again: await api.refresh(user.refreshToken),
      successor: await api.refresh(rotated.body.refreshToken),
      successorAccess: await api.me(rotated.body.accessToken),
      firstAccess: await api.me(user.accessToken),
    };
  }

  /** REFRESH_TOKEN_EXPIRY=2s: refreshed every ~1 s for 3 s, then left idle for 2.3 s. */
  async function idleScenario() {
    const t = apps.idle;
    const api = client(t);
    const user = await registerAndLogin(t);
    const startedAt = Date.now();
    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    const refreshes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      const res = await api.refresh(current.refreshToken);
      refreshes.push(res.status);
      if (res.status === 200) current = res.body;
    }
    const keptFor = Date.now() - startedAt;
    const meWhileRefreshed = (await api.me(current.accessToken)).status;
    await sleep(2300);
    return { refreshes, keptFor, meWhileRefreshed, afterIdle: await api.refresh(current.refreshToken) };
  }

  /** SESSION_MAX_LIFETIME=3s: refreshed every ~1 s, then presented just after the session's end. */
  async function maxLifetimeScenario() {
    const t = apps.maxLifetime;
    const api = client(t);
    const { username, password, id } = await register(t);
    const user = await login(t, username, password, id);
    // The session began before the login answered: it ends at most 3 s after this.
    const loginAnsweredAt = Date.now();
    const sessionEndLimit = Math.floor(loginAnsweredAt / 1000) + 3 + 1;
    const exps = [jwtPayload(user.accessToken).exp as number];
    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    const refreshes: number[] = [];
    for (let i = 0; i < 2; i++) {
      await sleep(1000);
      const res = await api.refresh(current.refreshToken);
      refreshes.push(res.status);
      if (res.status !== 200) break;
      current = res.body;
      exps.push(jwtPayload(current.accessToken).exp as number);
    }
    const meBeforeEnd = (await api.me(current.accessToken)).status;
    await sleep(Math.max(0, loginAnsweredAt + 3200 - Date.now()));
    return {
      sessionEndLimit,
      exps,
      refreshes,
      meBeforeEnd,
      refreshAfterEnd: await api.refresh(current.refreshToken),
      meAfterEnd: await api.me(current.accessToken),
    };
  }

  let grace: Awaited<ReturnType<typeof graceScenario>>;
  let idle: Awaited<ReturnType<typeof idleScenario>>;
  let maxLifetime: Awaited<ReturnType<typeof maxLifetimeScenario>>;
  beforeAll(async () => {
    // Booted first, one after the other: a boot holds the event loop, which would stretch the waits.
    apps.grace = await createTestApp({ REFRESH_REUSE_GRACE: '1s' }, 'grace1s');
    apps.idle = await createTestApp({ REFRESH_TOKEN_EXPIRY: '2s' }, 'idle');
    apps.maxLifetime = await createTestApp({ SESSION_MAX_LIFETIME: '3s', REFRESH_TOKEN_EXPIRY: '1m' }, 'maxlife');
    [grace, idle, maxLifetime] = await Promise.all([graceScenario(), idleScenario(), maxLifetimeScenario()]);
  });

  it('REFRESH_REUSE_GRACE=1s: the last rotated token presented after the grace (~1.3 s) is reuse: 401, session revoked', () => {
    expect(grace.rotated).toBe(200);
    expectErrorBody(grace.again, 401);
    expectErrorBody(grace.successor, 401);
    expectErrorBody(grace.successorAccess, 401);
    expectErrorBody(grace.firstAccess, 401);
  });

  it('REFRESH_TOKEN_EXPIRY=2s: a session refreshed every ~1 s stays alive past 2 s; one left idle for more than 2 s ends', () => {
    expect(idle.refreshes).toEqual([200, 200, 200]);
    expect(idle.keptFor).toBeGreaterThan(2000);
    expect(idle.meWhileRefreshed).toBe(200);
    expectErrorBody(idle.afterIdle, 401);
  });

  it('SESSION_MAX_LIFETIME=3s: access tokens are capped at the end, and once it has passed the refresh and the last access token are refused', () => {
    const { sessionEndLimit, exps } = maxLifetime;
    expect(maxLifetime.refreshes).toEqual([200, 200]);
    // Capped at the session's end, not ACCESS_TOKEN_EXPIRY (15 min) from now.
    expect(exps.filter((exp) => exp > sessionEndLimit)).toEqual([]);
    expect(maxLifetime.meBeforeEnd).toBe(200);
    expectErrorBody(maxLifetime.refreshAfterEnd, 401);
    expectErrorBody(maxLifetime.meAfterEnd, 401);
  });
});
