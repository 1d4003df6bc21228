import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../support/free-port';
import { randomSecret, uniqueDbName } from '../support/test-app';
import {
  clientLoop,
  Dependency,
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
  acceptedRevoked,
  now,
  probeEveryRoute,
  refresh,
  register,
  revokedLoop,
  show,
  startApp,
  startKillableFerretDb,
  tally,
  Traffic,
  waitFor,
  writerLoop,
  type AppProcess,
  type Sample,
  type Session,
  type Written,
} from './support/outage-harness';
import { PASSWORD, sleep, type Reply } from '../support/http';

/**
 * The database killed during steady traffic: requests that need it get 503 (no 500, no crash, no
 * token accepted that should not be), the service recovers by itself within 5 s of the database
 * returning, and no session or user written before the fault is lost.
 *
 * The real `node main.js` in database mode (no REDIS_URL: every protected request asks the database)
 * runs on a FerretDB of this suite's own; the run's shared one is never touched. Loops, each on its
 * own keep-alive connection, send verify, users/me, refresh, register, login, logout, replays of
 * logged-out sessions' tokens and health checks before, during and after FerretDB is SIGKILLed and
 * started again on the same port and data folder. Every exchange is recorded and judged afterwards.
 */

/** Steady traffic before the kill, and after the recovery bound. */
const STEADY_MS = 1500;
/** Longer than the driver's server selection timeout (3 s): requests waiting on it get their 503. */
const OUTAGE_MS = 4000;
/** How soon service must return, measured from the moment the restarted FerretDB accepts connections. */
const RECOVERY_BOUND_MS = 5000;

const DATABASE_ROUTES = ['verify', 'me', 'refresh', 'register', 'login', 'logout'];
const STEADY_ROUTES = [...DATABASE_ROUTES, 'revoked verify', 'revoked me', 'revoked refresh', 'live', 'ready'];
/** What a 503 may never say: driver words (addresses, stack frames and paths: the harness). */
const LEAKS = /Server selection|ECONNREFUSED|Mongo|mongoose|topology/i;

describe('database killed during steady traffic (node main.js on its own FerretDB)', () => {
  let dataDir: string | undefined;
  let database: Dependency | undefined;
  let app: AppProcess | undefined;
  let traffic: Traffic | undefined;
  let samples: Sample[] = [];
  let startedAt = 0;
  let killedAt = 0;
  let upAt = 0;

  /** Logged in before the traffic and left alone: checked after the recovery. */
  let dormant: Session;
  /** Its refresh and logout are sent during the outage (and answered 503). */
  let probe: Session;
  /** Logged out before the traffic: the first session the revoked loop replays. */
  let revokedBefore: Session;
  const written: Written = { users: [], sessions: [], revoked: [] };
  let duringOutage: Record<string, Reply> = {};
  let servedBefore: { verify: Reply; login: Reply };

  const client = () => app!.client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'slj-fault-db-'));
    const dbPort = await findFreePort();
    database = new Dependency(() => startKillableFerretDb(dataDir!, dbPort));
    await database.up();
    app = await startApp({
      MONGODB_URI: `mongodb://127.0.0.1:${dbPort}/`,
      MONGODB_DB_NAME: uniqueDbName('faultdb'),
      ACCESS_TOKEN_SECRET: randomSecret(),
      REFRESH_TOKEN_SECRET: randomSecret(),
      // The longest grace allowed: a refresh whose answer was lost to the outage is retried within
      // seconds of the recovery, and then succeeds.
      REFRESH_REUSE_GRACE: '60s',
    });

    const c = client();
    const [alice, bob] = [await register(c), await register(c)];
    const clients = [await login(c, alice), await login(c, alice), await login(c, bob)];
    dormant = await login(c, bob);
    probe = await login(c, bob);
    revokedBefore = await login(c, alice);
    await logout(c, revokedBefore);
    written.revoked.push(revokedBefore);

    startedAt = now();
    const load = new Traffic(app.baseUrl);
    traffic = load;
    clients.forEach((session, index) => clientLoop(load, `client-${index}`, session));
    writerLoop(load, written);
    revokedLoop(load, 'revoked', written.revoked);
    healthLoop(load);
    // Steady: every route served at least once (the writer has completed a round) before the kill.
    await waitFor(
      () => everyRouteServed(load.samples, STEADY_ROUTES, () => true),
      startedAt + STEADY_MS,
      30_000,
      'every route to be served before the kill',
    );
    servedBefore = { verify: await c.verify(dormant.accessToken), login: await c.login(bob, PASSWORD) };

    killedAt = await database.down();
    await sleep(500);
    duringOutage = await probeEveryRoute(c, { dormant, probe, revoked: revokedBefore });
    await sleep(Math.max(0, killedAt + OUTAGE_MS - now()));

    ({ upAt } = await database.up());
    // Past the recovery bound, each database route served again, for a while.
    await waitFor(
      () => everyRouteServed(load.samples, DATABASE_ROUTES, (s) => s.sentAt >= upAt + RECOVERY_BOUND_MS),
      upAt + RECOVERY_BOUND_MS + STEADY_MS,
      30_000,
      'every route to be sent and served after the recovery bound',
    );
    await load.stop();
    samples = load.samples;
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await app?.kill();
    await database?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers every request completely, with the route’s own answer or 503: never a 500, a reset or a hang', () => {
    expectEveryAnswerAllowed(traffic!, startedAt, LEAKS);
  });

  it('serves every route before the kill, as without a fault', () => {
    expectServedBefore(samples, killedAt, STEADY_ROUTES, startedAt);
  });

  it('during the outage answers 503 where the database is needed, and serves what needs none', () => {
    expectFailedClosed(
      duringOutage,
      // Register and readiness need the database too.
      { ...FAILED_CLOSED, register: 503, ready: 503 },
      LEAKS,
      servedBefore,
    );

    // The loops saw the same: 503s, and /health/live answering 200 throughout.
    const during = samples.filter((s) => s.sentAt > killedAt && s.sentAt < upAt);
    expect(during.filter((s) => s.status === 503).length).toBeGreaterThan(0);
    const live = during.filter((s) => s.route === 'live');
    expect(live.length).toBeGreaterThan(0);
    expect(
      show(
        live.filter((s) => s.status !== 200),
        startedAt,
      ),
    ).toBe('');
  });

  it('never accepts the tokens of a logged-out session, before, during or after the outage', async () => {
    const replays = samples.filter((s) => s.route.startsWith('revoked '));
    expect(show(replays.filter(acceptedRevoked), startedAt)).toBe('');
    // The replays ran through the outage and after it.
    expect(replays.some((s) => s.sentAt > killedAt && s.sentAt < upAt)).toBe(true);
    expect(replays.some((s) => s.sentAt > upAt + RECOVERY_BOUND_MS && s.status === 401)).toBe(true);

    // Every session logged out (200) before, during or after: refused now on both paths.
    const c = client();
    for (const session of written.revoked) {
      expect((await c.verify(session.accessToken)).status).toBe(401);
      expect((await c.refresh(session.refreshToken)).status).toBe(401);
    }
  });

  it(`recovers by itself within ${RECOVERY_BOUND_MS / 1000} s of the database accepting connections again`, () => {
    const recovery = firstGoodAfter(samples, upAt, DATABASE_ROUTES);
    process.stdout.write(
      `database outage: ms from FerretDB accepting connections again to each route's first good answer: ` +
        `${JSON.stringify(recovery)}; answers: ${JSON.stringify(tally(samples))}\n`,
    );
    for (const route of DATABASE_ROUTES) {
      expect({ route, ms: recovery[route] }).toEqual({ route, ms: expect.any(Number) });
      expect({ route, withinBound: recovery[route]! <= RECOVERY_BOUND_MS }).toEqual({ route, withinBound: true });
    }
    // And stays recovered: everything sent after the bound is served as without a fault.
    const late = samples.filter((s) => s.sentAt >= upAt + RECOVERY_BOUND_MS);
    expect(
      show(
        late.filter((s) => !s.good),
        startedAt,
      ),
    ).toBe('');
  });

  it('lost no user and no session written before the kill', async () => {
    const usersBefore = written.users.filter((u) => u.at < killedAt);
    const sessionsBefore = written.sessions.filter((s) => s.at < killedAt);
    expect(usersBefore.length).toBeGreaterThan(0);
    expect(sessionsBefore.length).toBeGreaterThan(0);

    // Users: each logs in with its password (the stored hash survived).
    const c = client();
    for (const user of usersBefore) await login(c, user.username);

    // Sessions: the access token issued before the fault is still accepted, the refresh token still
    // rotates, and the new access token works. The probe's refresh and logout, answered 503 during
    // the outage, changed nothing.
    for (const session of [dormant, probe, ...sessionsBefore]) {
      await expectStatus(c.verify(session.accessToken), 204, `verify ${session.username}`);
      const rotated = await refresh(c, session);
      await expectStatus(c.me(rotated.accessToken), 200, `users/me ${session.username}`);
    }
  });

  it('stays up: the same process serves, and logged no 500 and no unhandled error', async () => {
    await expectStaysUp(app!);
    expect((await client().request('GET', '/health')).status).toBe(200);
  });
});
