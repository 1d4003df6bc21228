import { createTestApp, type EnvOverrides, type TestApp } from './support/test-app';
import { cookiesOf, jwtPayload, login, register, registerAndLogin, setCookieHeaders, bearer } from './support/http';
import { expectErrorBody } from './support/contract-assertions';
import { testClock } from './support/test-clock';

/**
 * docs/http-api.md, Tokens: rotation, the REFRESH_REUSE_GRACE window, reuse detection (the whole
 * session is revoked), concurrent refreshes, and the two session lifetimes (REFRESH_TOKEN_EXPIRY,
 * SESSION_MAX_LIFETIME). The lifetimes pass on the apps' Clock (testClock.advance), not by waiting:
 * each is checked just before its end (still accepted) and just after (refused).
 */

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
 * Rotates a new session's refresh token once, then presents the rotated token again, which must be
 * reuse: 401, and the successor and its access token fail too. Returns the session's first tokens.
 */
async function expectRotatedTokenReuse(t: TestApp, api: ReturnType<typeof client>) {
  const user = await registerAndLogin(t);
  const rotated = await api.refresh(user.refreshToken);
  expect(rotated.status).toBe(200);

  expectErrorBody(await api.refresh(user.refreshToken), 401);
  expectErrorBody(await api.refresh(rotated.body.refreshToken), 401);
  expectErrorBody(await api.me(rotated.body.accessToken), 401);
  return user;
}

/** The app a describe block runs against, configured by `env`, and its client; closed after the block. */
function appForSuite(env: EnvOverrides, label: string) {
  const suite = {} as { t: TestApp; api: ReturnType<typeof client> };
  beforeAll(async () => {
    suite.t = await createTestApp(env, label);
    suite.api = client(suite.t);
  });
  afterAll(async () => {
    await suite.t?.close();
  });
  return suite;
}

describe('refresh token rotation with the default grace period (10 s)', () => {
  const app = appForSuite({}, 'rotation');

  it('rotates on every refresh: each successor differs from every earlier token and stays in the session', async () => {
    const user = await registerAndLogin(app.t);
    const sid = jwtPayload(user.accessToken).sid;
    const seen = [user.refreshToken];
    let current = user.refreshToken;
    for (let i = 0; i < 3; i++) {
      const res = await app.api.refresh(current);
      expect(res.status).toBe(200);
      expect(seen).not.toContain(res.body.refreshToken);
      expect(jwtPayload(res.body.accessToken).sid).toBe(sid);
      expect((await app.api.me(res.body.accessToken)).status).toBe(200);
      seen.push(res.body.refreshToken);
      current = res.body.refreshToken;
    }
  });

  it('supersedes the presented token: presented again it yields its known successor, never a new one', async () => {
    const user = await registerAndLogin(app.t);
    const first = await app.api.refresh(user.refreshToken);
    expect(first.status).toBe(200);
    const again = await app.api.refresh(user.refreshToken);
    expect(again.status).toBe(200);
    expect(again.body.refreshToken).toBe(first.body.refreshToken);
  });

  it('answers the last rotated token within the grace with the SAME successor and a new access token (body)', async () => {
    const user = await registerAndLogin(app.t);
    const rotated = await app.api.refresh(user.refreshToken);
    expect(rotated.status).toBe(200);

    const replay = await app.api.refresh(user.refreshToken);
    expect(replay.status).toBe(200);
    expect(Object.keys(replay.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
    expect(replay.body.refreshToken).toBe(rotated.body.refreshToken);
    expect(replay.body.accessToken).not.toBe(rotated.body.accessToken);
    expect(jwtPayload(replay.body.accessToken).jti).not.toBe(jwtPayload(rotated.body.accessToken).jti);
    expect(jwtPayload(replay.body.accessToken).sid).toBe(jwtPayload(user.accessToken).sid);
    expect(setCookieHeaders(replay)).toEqual([]);
    expect(replay.headers['cache-control']).toMatch(/\bno-store\b/);

    // Nothing was revoked: both access tokens work and the successor rotates normally.
    expect((await app.api.me(replay.body.accessToken)).status).toBe(200);
    expect((await app.api.me(rotated.body.accessToken)).status).toBe(200);
    expect((await app.api.refresh(rotated.body.refreshToken)).status).toBe(200);
  });

  it('answers the last rotated token within the grace with the SAME successor cookie (cookie mode)', async () => {
    const user = await registerAndLogin(app.t);
    const rotated = await app.api.refreshWithCookie(user.refreshToken);
    expect(rotated.status).toBe(200);
    const successor = cookiesOf(setCookieHeaders(rotated)).refreshToken;
    expect(successor).toBeTruthy();
    expect(successor).not.toBe(user.refreshToken);

    const replay = await app.api.refreshWithCookie(user.refreshToken);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ tokenType: 'Bearer', expiresIn: expect.any(Number) });
    const cookies = cookiesOf(setCookieHeaders(replay));
    expect(cookies.refreshToken).toBe(successor);
    expect(cookies.accessToken).toBeTruthy();
    expect(cookies.accessToken).not.toBe(cookiesOf(setCookieHeaders(rotated)).accessToken);
    expect(replay.headers['cache-control']).toMatch(/\bno-store\b/);
    const viaCookie = await app.t.http().get('/api/users/me').set('Cookie', `accessToken=${cookies.accessToken}`);
    expect(viaCookie.status).toBe(200);
  });

  it('treats an OLDER token (two rotations back) as reuse: 401 and the whole session is revoked', async () => {
    const user = await registerAndLogin(app.t);
    const otherSession = await login(app.t, user.username, user.password);
    const first = await app.api.refresh(user.refreshToken);
    const second = await app.api.refresh(first.body.refreshToken);
    expect([first.status, second.status]).toEqual([200, 200]);

    const reused = await app.api.refresh(user.refreshToken);
    expectErrorBody(reused, 401);
    expect(reused.body.accessToken).toBeUndefined();
    expect(reused.body.refreshToken).toBeUndefined();
    expect(setCookieHeaders(reused).filter((line) => /^(access|refresh)Token=[^;]/.test(line))).toEqual([]);

    // The newest refresh token and every access token of that session are refused now.
    expectErrorBody(await app.api.refresh(second.body.refreshToken), 401);
    expectErrorBody(await app.api.me(second.body.accessToken), 401);
    expectErrorBody(await app.api.me(first.body.accessToken), 401);
    expectErrorBody(await app.api.me(user.accessToken), 401);
    // Another session of the same user is a session of its own.
    expect((await app.api.me(otherSession.accessToken)).status).toBe(200);
    expect((await app.api.refresh(otherSession.refreshToken)).status).toBe(200);
  });

  it(`answers ${CONCURRENT_REFRESHES} concurrent refreshes with one token all 200, all with the same successor`, async () => {
    const user = await registerAndLogin(app.t);
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_REFRESHES }, () => app.api.refresh(user.refreshToken)),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(CONCURRENT_REFRESHES).fill(200));
    const successors = new Set(responses.map((res) => res.body.refreshToken as string));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    expect(successor).not.toBe(user.refreshToken);

    // The session is intact: every access token handed out works and the successor rotates.
    for (const res of responses) expect((await app.api.me(res.body.accessToken)).status).toBe(200);
    expect((await app.api.refresh(successor)).status).toBe(200);
  });
});

describe('REFRESH_REUSE_GRACE=0', () => {
  const app = appForSuite({ REFRESH_REUSE_GRACE: '0' }, 'nograce');

  it('treats presenting a rotated token again as reuse: 401, and the successor and access tokens fail', async () => {
    await expectRotatedTokenReuse(app.t, app.api);
  });

  it(`lets exactly one of ${CONCURRENT_REFRESHES} concurrent refreshes win; the others are reuse and revoke the session`, async () => {
    // Races do not happen the same way every time: several bursts, each on a session of its own.
    const user = await registerAndLogin(app.t);
    const rounds: Array<{
      round: number;
      statuses: number[];
      winnerAccess: number | null;
      winnerRefresh: number | null;
      first: number;
    }> = [];
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const session = round === 0 ? user : await login(app.t, user.username, user.password);
      const responses = await Promise.all(
        Array.from({ length: CONCURRENT_REFRESHES }, () => app.api.refresh(session.refreshToken)),
      );
      for (const res of responses.filter((r) => r.status === 401)) expectErrorBody(res, 401);
      // The losers were reuse: the winner's freshly issued tokens are refused too.
      const winner = responses.find((res) => res.status === 200);
      rounds.push({
        round,
        statuses: responses.map((res) => res.status).sort(),
        winnerAccess: winner ? (await app.api.me(winner.body.accessToken)).status : null,
        winnerRefresh: winner ? (await app.api.refresh(winner.body.refreshToken)).status : null,
        first: (await app.api.me(session.accessToken)).status,
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
 * How far before a lifetime's end "just before" is checked: more than a request takes to reach the
 * app (the Clock runs on in real time meanwhile) plus the up to 2 s an access token's exp, in whole
 * seconds, may fall short of its session's end; far less than any lifetime below.
 */
const MARGIN_MS = 5_000;
const SECOND = 1_000;
const MINUTE = 60_000;

describe('REFRESH_REUSE_GRACE=10s, counted on the Clock', () => {
  const GRACE_MS = 10 * SECOND;
  const app = appForSuite({ REFRESH_REUSE_GRACE: '10s' }, 'grace10s');

  it('answers the rotated token with its successor until the grace has passed; after it, it is reuse: 401, session revoked', async () => {
    const user = await registerAndLogin(app.t);
    // The rotation happens, on the app's Clock, between these two readings.
    const rotatingFrom = testClock.now();
    const rotated = await app.api.refresh(user.refreshToken);
    const rotatedBy = testClock.now();
    expect(rotated.status).toBe(200);

    testClock.advanceTo(rotatingFrom + GRACE_MS - MARGIN_MS);
    const withinGrace = await app.api.refresh(user.refreshToken);
    expect(withinGrace.status).toBe(200);
    expect(withinGrace.body.refreshToken).toBe(rotated.body.refreshToken);

    testClock.advanceTo(rotatedBy + GRACE_MS + 1);
    expectErrorBody(await app.api.refresh(user.refreshToken), 401);
    expectErrorBody(await app.api.refresh(rotated.body.refreshToken), 401);
    expectErrorBody(await app.api.me(rotated.body.accessToken), 401);
    expectErrorBody(await app.api.me(withinGrace.body.accessToken), 401);
    expectErrorBody(await app.api.me(user.accessToken), 401);
  });
});

describe('REFRESH_TOKEN_EXPIRY=2m (idle expiry), counted on the Clock', () => {
  const IDLE_MS = 2 * MINUTE;
  const app = appForSuite({ REFRESH_TOKEN_EXPIRY: '2m' }, 'idle');

  it('a session refreshed just before each idle expiry stays alive past it; one left idle past it ends', async () => {
    const startedFrom = testClock.now();
    const user = await registerAndLogin(app.t);
    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    // The idle window runs from the last rotation (or the login), somewhere after `from`.
    let from = startedFrom;
    let by = testClock.now();
    const refreshes: number[] = [];
    for (let i = 0; i < 3; i++) {
      testClock.advanceTo(from + IDLE_MS - MARGIN_MS);
      from = testClock.now();
      const res = await app.api.refresh(current.refreshToken);
      by = testClock.now();
      refreshes.push(res.status);
      if (res.status === 200) current = res.body;
    }
    expect(refreshes).toEqual([200, 200, 200]);
    // Kept alive for more than one idle window in all.
    expect(from - startedFrom).toBeGreaterThan(IDLE_MS);

    testClock.advanceTo(from + IDLE_MS - MARGIN_MS);
    expect((await app.api.me(current.accessToken)).status).toBe(200);

    testClock.advanceTo(by + IDLE_MS + 1);
    expectErrorBody(await app.api.me(current.accessToken), 401);
    expectErrorBody(await app.api.refresh(current.refreshToken), 401);
  });
});

describe('SESSION_MAX_LIFETIME=10m (absolute expiry), counted on the Clock', () => {
  const MAX_LIFETIME_MS = 10 * MINUTE;
  // The idle window (4 min) is refreshed well within; ACCESS_TOKEN_EXPIRY (15 min) outlasts the session.
  const app = appForSuite({ SESSION_MAX_LIFETIME: '10m', REFRESH_TOKEN_EXPIRY: '4m' }, 'maxlife');

  it('caps access tokens at the end; just before it the session works and refreshes, just after it the refresh and the access tokens are refused', async () => {
    const { username, password, id } = await register(app.t);
    // The session begins, on the app's Clock, between these two readings.
    const loginFrom = testClock.now();
    const user = await login(app.t, username, password, id);
    const loginBy = testClock.now();
    const sessionEndLimit = Math.floor((loginBy + MAX_LIFETIME_MS) / 1000);

    const exps = [jwtPayload(user.accessToken).exp as number];
    let current = { accessToken: user.accessToken, refreshToken: user.refreshToken };
    const refreshes: number[] = [];
    for (const at of [3 * MINUTE, 6 * MINUTE, 9 * MINUTE, MAX_LIFETIME_MS - MARGIN_MS]) {
      testClock.advanceTo(loginFrom + at);
      const res = await app.api.refresh(current.refreshToken);
      refreshes.push(res.status);
      if (res.status !== 200) break;
      current = res.body;
      exps.push(jwtPayload(current.accessToken).exp as number);
    }
    expect(refreshes).toEqual([200, 200, 200, 200]);
    // Capped at the session's end, not ACCESS_TOKEN_EXPIRY (15 min) from the refresh.
    expect(exps.filter((exp) => exp > sessionEndLimit)).toEqual([]);
    expect((await app.api.me(current.accessToken)).status).toBe(200);

    testClock.advanceTo(loginBy + MAX_LIFETIME_MS + 1);
    expectErrorBody(await app.api.refresh(current.refreshToken), 401);
    expectErrorBody(await app.api.me(current.accessToken), 401);
  });
});
