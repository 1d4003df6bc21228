import { jwtPayload, PASSWORD, sleep, type Reply } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { randomSecret, uniqueDbName } from '../support/test-app';
import {
  acceptedRevoked,
  clientLoop,
  everyRouteServed,
  expectEveryAnswerAllowed,
  expectFailedClosed,
  expectServedBefore,
  expectStatus,
  expectStaysUp,
  FAILED_CLOSED,
  firstGoodAfter,
  healthLoop,
  login,
  logout,
  logoutRequest,
  OwnRedis,
  now,
  pollWhile,
  probeEveryRoute,
  refresh,
  register,
  revokedLoop,
  show,
  startApp,
  tally,
  Traffic,
  waitFor,
  writerLoop,
  type AppProcess,
  type Sample,
  type Session,
  type Written,
} from './support/outage-harness';

/**
 * Redis killed: protected routes fail closed (503) rather than fall back to the database, still
 * enforce revocation, and recover when Redis returns.
 *
 * They FAIL CLOSED. With REDIS_URL set, the per-request session check is a Redis lookup and
 * there is no fallback to the database: while Redis is unreachable every route that needs it (all
 * protected routes, login, refresh) answers 503, never a 200 for a token it cannot check nor a 401
 * for a valid one. Routes that need only the database (register, readiness) keep working.
 *
 * The real `node main.js` in Redis mode runs against a Redis of this suite's own (the run's shared
 * one is never touched) and the run's database. Loops send verify, users/me, refresh, register,
 * login, logout, replays of revoked sessions' tokens and health checks throughout two outages:
 *  1. Redis is SIGKILLed and comes back WITH its data (append-only file, fsync on every write): the
 *     sessions live before go on without a refresh; a session revoked in the database while Redis was
 *     down (refresh-token reuse, answered 503) must be refused once Redis is back;
 *  2. Redis is SIGKILLed and comes back EMPTY (a new instance without persistence): every access
 *     token issued before is refused (401, fail closed) until its session is refreshed, which goes
 *     through the database and so refuses revoked sessions.
 */

/** Steady traffic before the first kill, and after each recovery bound. */
const STEADY_MS = 1500;
const OUTAGE_MS = 3000;
/** How soon service must return once Redis is back, bounded like the database's: from the port accepting again. */
const RECOVERY_BOUND_MS = 5000;

/** Routes that need Redis (and, for all but verify, the database). */
const REDIS_ROUTES = ['verify', 'me', 'refresh', 'login', 'logout'];
const STEADY_ROUTES = [...REDIS_ROUTES, 'register', 'revoked verify', 'revoked me', 'revoked refresh', 'live', 'ready'];
/** What a 503 may never say: the client's words (addresses, stack frames and paths: the harness). */
const LEAKS = /redis|ECONNREFUSED|ECONNRESET|enableOfflineQueue|Connection is closed|Stream isn't writeable/i;

/** `node main.js` in Redis mode on `redis`, with a database of its own. */
function startRedisModeApp(redis: OwnRedis, label: string, env: Record<string, string> = {}): Promise<AppProcess> {
  return startApp({
    REDIS_URL: redis.url,
    MONGODB_URI: process.env.MONGODB_URI,
    MONGODB_DB_NAME: uniqueDbName(label),
    ACCESS_TOKEN_SECRET: randomSecret(),
    REFRESH_TOKEN_SECRET: randomSecret(),
    ...env,
  });
}

/**
 * The second suite's Redis and app: independent of the first suite's, so started while that one
 * starts its own (start-up is most of the second suite's time). Either suite may start it.
 */
const blip: { redis?: OwnRedis; app?: AppProcess; started?: Promise<void> } = {};
function startBlip(): Promise<void> {
  blip.started ??= (async () => {
    blip.redis = await OwnRedis.create();
    blip.app = await startRedisModeApp(blip.redis, 'faultblip');
  })();
  return blip.started;
}

describe('Redis killed during steady traffic (node main.js in Redis mode, its own Redis)', () => {
  let redis: OwnRedis | undefined;
  let app: AppProcess | undefined;
  let traffic: Traffic | undefined;
  let samples: Sample[] = [];
  let startedAt = 0;
  // restartN: when Redis was started again; upN: when its port was seen accepting (a little later).
  const at = { kill1: 0, restart1: 0, up1: 0, kill2: 0, restart2: 0, up2: 0 };

  /** Left alone; checked after the first outage (no refresh needed) and after the second (refused). */
  let dormant1: Session;
  let dormant2: Session;
  /** Its refresh and logout are sent during the first outage (and answered 503). */
  let probe: Session;
  /** Logged out before the traffic. */
  let revokedBefore: Session;
  /** Refreshed twice before the outage; its first refresh token is replayed during it (reuse). */
  let victim: Session & { firstRefreshToken: string };
  const written: Written = { users: [], sessions: [], revoked: [] };

  let servedBefore: { verify: Reply; login: Reply };
  let duringOutage: Record<string, Reply> = {};
  let reuseDuringOutage: Reply;
  /** Statuses observed right after each return of Redis. */
  const afterFirst: Record<string, number> = {};
  const afterSecond: Record<string, number> = {};
  let refusedAfterEmptyReturn: Reply;

  const client = () => app!.client;
  const verify = (token: string) => client().verify(token);
  const refreshWith = (refreshToken: string) => client().refresh(refreshToken);

  /**
   * The first answer that is not 503: the app is connected to Redis again. A bounded poll only; the
   * recovery bound itself is asserted on the traffic.
   */
  const onceReachable = (request: () => Promise<Reply>): Promise<Reply> => pollWhile(request, 2 * RECOVERY_BOUND_MS);

  /**
   * Replays of the victim's access token on four connections, densest when it matters: every 25 ms
   * while Redis is down, every 5 ms once it accepts connections again (the app reconnects within its
   * retry delay), and without pause for the first second after the app answers something else than
   * 503; every 100 ms after that. From the moment Redis is back, the revocation that reached only the
   * database must hold.
   */
  function victimLoops(load: Traffic): void {
    let hammerUntil: number | undefined;
    for (let index = 0; index < 4; index += 1) {
      load.loop('victim', 0, async (c) => {
        const res = await c.call('revoked verify', 'GET', '/api/auth/verify', {
          good: [401],
          token: victim.accessToken,
        });
        if (at.up1 === 0) return sleep(25);
        if (hammerUntil === undefined && res && res.status !== 503) hammerUntil = now() + 1000;
        if (hammerUntil === undefined) return sleep(5);
        if (now() > hammerUntil) return sleep(100);
      });
    }
  }

  /** The sessions of the test, logged in before the traffic (in parallel: argon2 is most of it). */
  async function sessions(): Promise<Session[]> {
    const c = client();
    const [alice, bob] = await Promise.all([register(c), register(c)]);
    const clients = await Promise.all([login(c, alice), login(c, alice), login(c, bob)]);
    [dormant1, dormant2, probe, revokedBefore] = await Promise.all([
      login(c, bob),
      login(c, bob),
      login(c, bob),
      login(c, alice),
    ]);
    const first = await login(c, alice);
    await logout(c, revokedBefore);
    written.revoked.push(revokedBefore);
    victim = { ...(await refresh(c, await refresh(c, first))), firstRefreshToken: first.refreshToken };
    return clients;
  }

  beforeAll(async () => {
    // Its failure is the second suite's to report.
    const blipStarted = startBlip().catch(() => undefined);
    redis = await OwnRedis.create();
    app = await startRedisModeApp(redis, 'faultredis', {
      // The longest grace allowed: a refresh whose answer was lost to an outage is retried within
      // seconds of the recovery, and then succeeds.
      REFRESH_REUSE_GRACE: '60s',
    });
    const [clients] = await Promise.all([sessions(), blipStarted]);
    const c = client();

    startedAt = now();
    const load = new Traffic(app.baseUrl);
    traffic = load;
    // 401 is tolerated for the clients' tokens (a Redis that lost its data); when it is legitimate is
    // judged afterwards from when each token was issued.
    clients.forEach((session, index) => clientLoop(load, `client-${index}`, session, true));
    writerLoop(load, written);
    revokedLoop(load, 'revoked', written.revoked);
    healthLoop(load);
    await waitFor(
      () => everyRouteServed(load.samples, STEADY_ROUTES, () => true),
      startedAt + STEADY_MS,
      30_000,
      'every route to be served before the kill',
    );
    servedBefore = { verify: await verify(dormant1.accessToken), login: await c.login(probe.username, PASSWORD) };

    // Outage 1: killed, back with its data.
    at.kill1 = await redis.dependency.down();
    await sleep(300);
    duringOutage = await probeEveryRoute(c, { dormant: dormant1, probe, revoked: revokedBefore });
    // Refresh-token reuse: the database revokes the session, publishing the revocation to Redis fails.
    reuseDuringOutage = await refreshWith(victim.firstRefreshToken);
    // From now on the victim's tokens are replayed, and never to be accepted again.
    written.revoked.push(victim);
    victimLoops(load);
    await sleep(Math.max(0, at.kill1 + OUTAGE_MS - now()));

    ({ restartAt: at.restart1, upAt: at.up1 } = await redis.dependency.up());
    afterFirst.dormantVerify = (await onceReachable(() => verify(dormant1.accessToken))).status;
    afterFirst.victimVerify = (await verify(victim.accessToken)).status;
    afterFirst.victimRefresh = (await refreshWith(victim.refreshToken)).status;
    // The probe's refresh was answered 503 after the database had rotated: retried, it gets the
    // successor (grace). Its logout was answered 503 before anything was revoked: retried, it works.
    const probeRefreshed = await refreshWith(probe.refreshToken);
    afterFirst.probeRefresh = probeRefreshed.status;
    afterFirst.probeLogout = (await logoutRequest(c, probe)).status;
    afterFirst.probeVerifyAfterLogout = (await verify(probe.accessToken)).status;
    afterFirst.probeRefreshAfterLogout = (await refreshWith(probeRefreshed.body?.refreshToken ?? '')).status;
    await waitFor(
      () =>
        everyRouteServed(load.samples, REDIS_ROUTES, (s) => s.sentAt >= at.up1 + RECOVERY_BOUND_MS) &&
        load.samples.some((s) => s.loop === 'victim' && s.sentAt >= at.up1 + RECOVERY_BOUND_MS),
      at.up1 + RECOVERY_BOUND_MS + STEADY_MS,
      30_000,
      'every route to be sent and served after the first recovery bound',
    );

    // Outage 2: killed, back empty.
    at.kill2 = await redis.dependency.down();
    await sleep(Math.max(0, at.kill2 + OUTAGE_MS - now()));
    const emptyRedis = redis;
    ({ restartAt: at.restart2, upAt: at.up2 } = await redis.dependency.up(() => emptyRedis.start(false)));
    refusedAfterEmptyReturn = await onceReachable(() => verify(dormant2.accessToken));
    afterSecond.dormantVerify = refusedAfterEmptyReturn.status;
    const dormantRefreshed = await refreshWith(dormant2.refreshToken);
    afterSecond.dormantRefresh = dormantRefreshed.status;
    afterSecond.dormantSameSession = Number(
      jwtPayload(dormantRefreshed.body?.accessToken ?? dormant2.accessToken).sid ===
        jwtPayload(dormant2.accessToken).sid,
    );
    afterSecond.dormantVerifyRefreshed = (await verify(dormantRefreshed.body?.accessToken ?? '')).status;
    afterSecond.revokedBeforeVerify = (await verify(revokedBefore.accessToken)).status;
    afterSecond.revokedBeforeRefresh = (await refreshWith(revokedBefore.refreshToken)).status;
    afterSecond.victimVerify = (await verify(victim.accessToken)).status;
    afterSecond.victimRefresh = (await refreshWith(victim.refreshToken)).status;
    await waitFor(
      () => everyRouteServed(load.samples, REDIS_ROUTES, (s) => s.sentAt >= at.up2 + RECOVERY_BOUND_MS),
      at.up2 + RECOVERY_BOUND_MS + STEADY_MS,
      30_000,
      'every route to be sent and served after the second recovery bound',
    );
    await load.stop();
    samples = load.samples;
  }, 150_000);

  afterAll(async () => {
    await traffic?.stop();
    await app?.kill();
    await redis?.remove();
  });

  /** A 401 for a client's own live token is right only for a token issued before Redis lost its data. */
  const legitimate401 = (s: Sample) =>
    s.status === 401 && s.tokenIssuedAt !== undefined && s.tokenIssuedAt < at.kill2 && s.answeredAt > at.kill2;

  it('answers every request completely, with the route’s own answer or 503: never a 500, a reset or a hang', () => {
    expectEveryAnswerAllowed(
      traffic!,
      startedAt,
      LEAKS,
      (s) => s.loop.startsWith('client-') && s.status === 401 && !legitimate401(s),
    );
  });

  it('serves every route before the kill, as without a fault', () => {
    expectServedBefore(samples, at.kill1, STEADY_ROUTES, startedAt);
  });

  it('while Redis is down fails closed: 503 wherever Redis is needed, no fallback; the rest is served', () => {
    expectFailedClosed(
      duringOutage,
      // Register needs neither Redis nor a session check; readiness pings the database only.
      { ...FAILED_CLOSED, register: 201, ready: 200 },
      LEAKS,
      servedBefore,
    );

    // Up to the restart, not to when the test saw the port again: an answer in between may already
    // come from the Redis that is back.
    for (const [kill, restart] of [
      [at.kill1, at.restart1],
      [at.kill2, at.restart2],
    ]) {
      const during = samples.filter((s) => s.sentAt > kill + 100 && s.answeredAt < restart);
      for (const route of ['verify', 'me', 'revoked verify']) {
        expect({ route, statuses: [...new Set(during.filter((s) => s.route === route).map((s) => s.status))] }).toEqual(
          {
            route,
            statuses: [503],
          },
        );
      }
      const live = during.filter((s) => s.route === 'live');
      expect(live.length).toBeGreaterThan(0);
      expect(
        show(
          live.filter((s) => s.status !== 200),
          startedAt,
        ),
      ).toBe('');
    }
  });

  it('never accepts a revoked session: logged out before, or revoked in the database while Redis was down', () => {
    expect({ status: reuseDuringOutage.status, text: reuseDuringOutage.text }).toEqual({
      status: 503,
      text: expect.not.stringMatching(/accessToken|refreshToken/),
    });
    expect(afterFirst).toMatchObject({ victimVerify: 401, victimRefresh: 401 });
    expect(afterSecond).toMatchObject({
      victimVerify: 401,
      victimRefresh: 401,
      revokedBeforeVerify: 401,
      revokedBeforeRefresh: 401,
    });
    // The victim's token was replayed throughout the return of Redis with its data, densely in the
    // first second after the app reconnected: not once accepted.
    const replays = samples.filter((s) => s.route.startsWith('revoked '));
    const victimAfterReturn = replays.filter((s) => s.loop === 'victim' && s.sentAt > at.up1 && s.sentAt < at.kill2);
    expect(victimAfterReturn.filter((s) => s.status === 401).length).toBeGreaterThan(0);
    expect(show(replays.filter(acceptedRevoked), startedAt)).toBe('');
  });

  it(`back with its data: recovers within ${RECOVERY_BOUND_MS / 1000} s, live sessions need no refresh, answers lost to the outage can be retried`, () => {
    const recovery = firstGoodAfter(
      samples.filter((s) => s.answeredAt < at.kill2),
      at.up1,
      REDIS_ROUTES,
    );
    process.stdout.write(
      `Redis back with its data: ms from the port accepting again to each route's first good answer: ${JSON.stringify(recovery)}\n`,
    );
    for (const route of REDIS_ROUTES) {
      expect({ route, withinBound: (recovery[route] ?? Infinity) <= RECOVERY_BOUND_MS }).toEqual({
        route,
        withinBound: true,
      });
    }
    const late = samples.filter((s) => s.sentAt >= at.up1 + RECOVERY_BOUND_MS && s.answeredAt < at.kill2);
    expect(
      show(
        late.filter((s) => !s.good),
        startedAt,
      ),
    ).toBe('');
    expect(afterFirst).toEqual({
      dormantVerify: 204,
      victimVerify: 401,
      victimRefresh: 401,
      probeRefresh: 200,
      probeLogout: 200,
      probeVerifyAfterLogout: 401,
      probeRefreshAfterLogout: 401,
    });
  });

  it(`back empty: refuses every earlier access token until its session is refreshed (fail closed), recovers within ${RECOVERY_BOUND_MS / 1000} s`, () => {
    expect(afterSecond).toMatchObject({
      dormantVerify: 401,
      dormantRefresh: 200,
      dormantSameSession: 1,
      dormantVerifyRefreshed: 204,
    });
    expectErrorBody(refusedAfterEmptyReturn, 401);
    expect(refusedAfterEmptyReturn.body.message).toBe('Unauthorized');
    // The clients' earlier tokens, sent to the empty Redis: 503 until the app has reconnected and
    // re-published, then 401 (and the client refreshes); never accepted. Whether a client's first
    // request after the return is a verify (401) or a refresh it retries (200, a token issued after
    // the kill) is timing, and so is whether any client presents an earlier token at all (every one
    // may be retrying a refresh when Redis returns): the dormant session above is the deterministic
    // proof of the 401.
    const earlier = samples.filter(
      (s) =>
        s.loop.startsWith('client-') &&
        s.tokenIssuedAt !== undefined &&
        s.tokenIssuedAt < at.kill2 &&
        s.sentAt >= at.up2,
    );
    expect(
      show(
        earlier.filter((s) => s.status !== 401 && s.status !== 503),
        startedAt,
      ),
    ).toBe('');

    const recovery = firstGoodAfter(samples, at.up2, REDIS_ROUTES);
    process.stdout.write(
      `Redis back empty: ms from the port accepting again to each route's first good answer: ${JSON.stringify(recovery)}; ` +
        `answers: ${JSON.stringify(tally(samples))}\n`,
    );
    for (const route of REDIS_ROUTES) {
      expect({ route, withinBound: (recovery[route] ?? Infinity) <= RECOVERY_BOUND_MS }).toEqual({
        route,
        withinBound: true,
      });
    }
    const late = samples.filter((s) => s.sentAt >= at.up2 + RECOVERY_BOUND_MS);
    expect(
      show(
        late.filter((s) => !s.good),
        startedAt,
      ),
    ).toBe('');
  });

  it('stays up: the same process serves, and logged no 500 and no unhandled error', async () => {
    await expectStaysUp(app!);
    const fresh = await login(client(), dormant1.username);
    await expectStatus(verify(fresh.accessToken), 204, 'verify a new session');
  });
});

/**
 * The same promise over the shortest outage: Redis SIGKILLed and back (with its data) before the
 * app's Redis client makes its first reconnection attempt (200 ms after it saw the connection
 * close). A refresh-token reuse detected in between is recorded in the database and answered 503;
 * once the client is connected again, the victim's access token must be refused, as after a long
 * outage.
 */
describe('Redis killed and back within its client’s first reconnection delay', () => {
  const ATTEMPTS = 5;

  afterAll(async () => {
    await blip.started?.catch(() => undefined);
    await blip.app?.kill();
    await blip.redis?.remove();
  });

  it('refuses a session revoked in the database during the outage once Redis is back', async () => {
    await startBlip();
    const redis = blip.redis!;
    const c = blip.app!.client;
    const bystander = await login(c, await register(c));
    const username = bystander.username;

    // The reuse must reach the app while its client is disconnected (answered 503); when the client
    // was faster, the revocation was published normally and the attempt proves nothing: try again.
    const attempts: string[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      const first = await login(c, username);
      const victim = await refresh(c, await refresh(c, first));

      await redis.dependency.down();
      const restarted = redis.dependency.up();
      // The client notices the closed connection within a few ms; by then Redis is starting again.
      await sleep(30);
      const reuse = await c.refresh(first.refreshToken);
      await restarted;
      const reachable = await pollWhile(() => c.verify(bystander.accessToken), RECOVERY_BOUND_MS);
      expect(reachable.status).toBe(204);
      if (reuse.status !== 503) {
        attempts.push(`attempt ${attempt}: reuse answered ${reuse.status}, not during the outage`);
        continue;
      }

      // Revoked in the database (the refresh token is refused) ...
      expect((await c.refresh(victim.refreshToken)).status).toBe(401);
      // ... and so on every path, for as long as the access token would otherwise live.
      const statuses = new Set<number>();
      const until = now() + 1000;
      while (now() < until) {
        statuses.add((await c.verify(victim.accessToken)).status);
        await sleep(20);
      }
      expect({ victimVerify: [...statuses] }).toEqual({ victimVerify: [401] });
      return;
    }
    throw new Error(`the reuse never reached the app during the outage:\n${attempts.join('\n')}`);
  }, 90_000);
});
