import { createTestApp, type TestApp } from './support/test-app';
import { cookiesOf, jwtPayload, login, register, registerAndLogin, setCookieHeaders } from './support/auth-helpers';
import { bearer, expectErrorBody, sleep } from './support/contract-assertions';

/**
 * docs/http-api.md, Tokens: rotation, the REFRESH_REUSE_GRACE window, reuse detection (the whole
 * session is revoked), concurrent refreshes, and the two session lifetimes (REFRESH_TOKEN_EXPIRY,
 * SESSION_MAX_LIFETIME). Waiting in this file adds up to about 10 s.
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

describe('REFRESH_REUSE_GRACE=1s', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({ REFRESH_REUSE_GRACE: '1s' }, 'grace1s');
    api = client(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('treats the last rotated token presented after the grace (~1.3 s) as reuse: 401, session revoked', async () => {
    const user = await expectRotatedTokenReuseAfter(t, api, 1300);
    expectErrorBody(await api.me(user.accessToken), 401);
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

describe('REFRESH_TOKEN_EXPIRY=2s (idle window, renewed by each refresh)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({ REFRESH_TOKEN_EXPIRY: '2s' }, 'idle');
    api = client(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps a session refreshed every ~1 s alive past 2 s, and ends one left idle for more than 2 s', async () => {
    const user = await registerAndLogin(t);
    const startedAt = Date.now();
    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      const res = await api.refresh(current.refreshToken);
      expect(res.status).toBe(200);
      current = res.body;
    }
    expect(Date.now() - startedAt).toBeGreaterThan(2000);
    expect((await api.me(current.accessToken)).status).toBe(200);

    await sleep(2300);
    expectErrorBody(await api.refresh(current.refreshToken), 401);
  });
});

describe('SESSION_MAX_LIFETIME=3s (absolute end, however often refreshed)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    t = await createTestApp({ SESSION_MAX_LIFETIME: '3s', REFRESH_TOKEN_EXPIRY: '1m' }, 'maxlife');
    api = client(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses the refresh token and the last access token once the session has ended', async () => {
    const { username, password, id } = await register(t);
    const loginStartedAt = Date.now();
    const user = await login(t, username, password, id);
    const sessionEndLimit = Math.floor(loginStartedAt / 1000) + 3 + 1;
    expect(jwtPayload(user.accessToken).exp as number).toBeLessThanOrEqual(sessionEndLimit);

    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    for (let i = 0; i < 2; i++) {
      await sleep(1000);
      const res = await api.refresh(current.refreshToken);
      expect(res.status).toBe(200);
      current = res.body;
      // Capped at the session's end, not ACCESS_TOKEN_EXPIRY (15 min) from now.
      expect(jwtPayload(current.accessToken).exp as number).toBeLessThanOrEqual(sessionEndLimit);
    }
    expect((await api.me(current.accessToken)).status).toBe(200);

    await sleep(Math.max(0, loginStartedAt + 3200 - Date.now()));
    expectErrorBody(await api.refresh(current.refreshToken), 401);
    expectErrorBody(await api.me(current.accessToken), 401);
  });
});
