import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../src/database/embedded/ferretdb-server';
import { PASSWORD, uniqueUsername } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { randomSecret, uniqueDbName } from '../support/test-app';
import {
  builtMainJs,
  startApp,
  startKillableFerretDb,
  type AppProcess,
  type KillableServer,
} from './support-processes';
import {
  clientLoop,
  expectStatus,
  healthLoop,
  login,
  logout,
  refresh,
  register,
  revokedLoop,
  writerLoop,
  type Session,
  type Written,
} from './support-sessions';
import {
  describeSample,
  everyRouteServed,
  firstGoodAfter,
  now,
  send,
  sleep,
  tally,
  Traffic,
  waitFor,
  type Reply,
  type Sample,
} from './support-traffic';

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
/** The bound, measured from the moment the restarted FerretDB accepts connections. */
const RECOVERY_BOUND_MS = 5000;

const DATABASE_ROUTES = ['verify', 'me', 'refresh', 'register', 'login', 'logout'];
const STEADY_ROUTES = [...DATABASE_ROUTES, 'revoked verify', 'revoked me', 'revoked refresh', 'live', 'ready'];
const acceptedRevoked = (s: Sample) => s.route.startsWith('revoked ') && s.status !== undefined && s.status < 300;
/** What a 503 may never say: driver words, addresses, stack frames, paths. */
const LEAKS =
  /Server selection|ECONNREFUSED|Mongo|mongoose|topology|127\.0\.0\.1|\bat \S+ \(|node_modules|\.ts:\d|\.js:\d/i;

describe('database killed during steady traffic (node main.js on its own FerretDB)', () => {
  let dataDir: string | undefined;
  let database: KillableServer | undefined;
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

  const port = () => app!.port;
  const show = (list: Sample[]) =>
    list
      .slice(0, 15)
      .map((s) => describeSample(s, startedAt))
      .join('\n');

  /** One request of each kind, in parallel, sent while the database is down. */
  async function probeEveryRoute(): Promise<Record<string, Reply>> {
    const p = port();
    const requests: Record<string, Promise<Reply>> = {
      verify: send(p, 'GET', '/api/auth/verify', { token: dormant.accessToken }),
      me: send(p, 'GET', '/api/users/me', { token: dormant.accessToken }),
      refresh: send(p, 'POST', '/api/auth/refresh', { body: { refreshToken: probe.refreshToken } }),
      logout: send(p, 'POST', '/api/auth/logout', { token: probe.accessToken }),
      login: send(p, 'POST', '/api/auth/login', { body: { username: probe.username, password: PASSWORD } }),
      register: send(p, 'POST', '/api/auth/register', { body: { username: uniqueUsername('o'), password: PASSWORD } }),
      'revoked verify': send(p, 'GET', '/api/auth/verify', { token: revokedBefore.accessToken }),
      'forged verify': send(p, 'GET', '/api/auth/verify', { token: `${dormant.accessToken.slice(0, -6)}AAAAAA` }),
      ready: send(p, 'GET', '/health'),
      live: send(p, 'GET', '/health/live'),
    };
    const replies = await Promise.all(Object.values(requests));
    return Object.fromEntries(Object.keys(requests).map((name, index) => [name, replies[index]]));
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'slj-fault-db-'));
    const dbPort = await findFreePort();
    database = await startKillableFerretDb(dataDir, dbPort);
    app = await startApp(await builtMainJs(), await findFreePort(), {
      MONGODB_URI: `mongodb://127.0.0.1:${dbPort}/`,
      MONGODB_DB_NAME: uniqueDbName('faultdb'),
      ACCESS_TOKEN_SECRET: randomSecret(),
      REFRESH_TOKEN_SECRET: randomSecret(),
      // The longest grace allowed: a refresh whose answer was lost to the outage is retried within
      // seconds of the recovery, and then succeeds.
      REFRESH_REUSE_GRACE: '60s',
    });

    const [alice, bob] = [await register(port()), await register(port())];
    const clients = [await login(port(), alice), await login(port(), alice), await login(port(), bob)];
    dormant = await login(port(), bob);
    probe = await login(port(), bob);
    revokedBefore = await login(port(), alice);
    await logout(port(), revokedBefore);
    written.revoked.push(revokedBefore);

    startedAt = now();
    traffic = new Traffic(port());
    clients.forEach((session, index) => clientLoop(traffic!, `client-${index}`, session));
    writerLoop(traffic, written);
    revokedLoop(traffic, 'revoked', written.revoked);
    healthLoop(traffic);
    // Steady: every route served at least once (the writer has completed a round) before the kill.
    const load = traffic;
    await waitFor(
      () => everyRouteServed(load.samples, STEADY_ROUTES, () => true),
      startedAt + STEADY_MS,
      30_000,
      'every route to be served before the kill',
    );

    killedAt = now();
    await database.kill();
    database = undefined;
    await sleep(500);
    duringOutage = await probeEveryRoute();
    await sleep(Math.max(0, killedAt + OUTAGE_MS - now()));

    database = await startKillableFerretDb(dataDir, dbPort);
    upAt = now();
    // Past the recovery bound, each database route served again, for a while.
    await waitFor(
      () => everyRouteServed(load.samples, DATABASE_ROUTES, (s) => s.sentAt >= upAt + RECOVERY_BOUND_MS),
      upAt + RECOVERY_BOUND_MS + STEADY_MS,
      30_000,
      'every route to be sent and served after the recovery bound',
    );
    await traffic.stop();
    samples = traffic.samples;
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await app?.kill();
    await database?.kill();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers every request completely, with the route’s own answer or 503: never a 500, a reset or a hang', () => {
    expect(traffic!.loopErrors).toEqual([]);
    // A revoked session's token accepted is the failure of the revocation test below, not repeated here.
    const wrong = samples.filter((s) => !s.allowed && !acceptedRevoked(s));
    expect({ wrong: show(wrong), tally: tally(wrong) }).toEqual({ wrong: '', tally: {} });
    // The 503s carry the contract's error body and nothing of the driver.
    for (const s of samples.filter((sample) => sample.status === 503)) {
      expect(JSON.parse(s.text!)).toEqual({
        statusCode: 503,
        message: expect.any(String),
        error: 'Service Unavailable',
      });
      expect(s.text).not.toMatch(LEAKS);
    }
  });

  it('serves every route before the kill, as without a fault', () => {
    const before = samples.filter((s) => s.answeredAt < killedAt);
    expect(show(before.filter((s) => !s.good))).toBe('');
    for (const route of STEADY_ROUTES) {
      expect({ route, servedBeforeKill: before.some((s) => s.route === route) }).toEqual({
        route,
        servedBeforeKill: true,
      });
    }
  });

  it('during the outage answers 503 where the database is needed, and serves what needs none', () => {
    const statuses = Object.fromEntries(Object.entries(duringOutage).map(([name, res]) => [name, res.status]));
    expect(statuses).toEqual({
      verify: 503,
      me: 503,
      refresh: 503,
      logout: 503,
      login: 503,
      register: 503,
      // Validly signed but logged out: the check cannot run, so the token is neither accepted nor called revoked.
      'revoked verify': 503,
      // A bad signature needs no database to be refused.
      'forged verify': 401,
      ready: 503,
      live: 200,
    });
    for (const res of Object.values(duringOutage).filter((r) => r.status === 503)) {
      expectErrorBody(res, 503);
      expect(res.text).not.toMatch(LEAKS);
    }
    expect(duringOutage.verify.headers['x-user-id']).toBeUndefined();
    expect(duringOutage.login.headers['set-cookie']).toBeUndefined();
    expect(duringOutage.login.text + duringOutage.refresh.text).not.toMatch(/accessToken|refreshToken/);

    // The loops saw the same: 503s, and /health/live answering 200 throughout.
    const during = samples.filter((s) => s.sentAt > killedAt && s.sentAt < upAt);
    expect(during.filter((s) => s.status === 503).length).toBeGreaterThan(0);
    const live = during.filter((s) => s.route === 'live');
    expect(live.length).toBeGreaterThan(0);
    expect(show(live.filter((s) => s.status !== 200))).toBe('');
  });

  it('never accepts the tokens of a logged-out session, before, during or after the outage', async () => {
    const replays = samples.filter((s) => s.route.startsWith('revoked '));
    expect(show(replays.filter(acceptedRevoked))).toBe('');
    // The replays ran through the outage and after it.
    expect(replays.some((s) => s.sentAt > killedAt && s.sentAt < upAt)).toBe(true);
    expect(replays.some((s) => s.sentAt > upAt + RECOVERY_BOUND_MS && s.status === 401)).toBe(true);

    // Every session logged out (200) before, during or after: refused now on both paths.
    for (const session of written.revoked) {
      expect((await send(port(), 'GET', '/api/auth/verify', { token: session.accessToken })).status).toBe(401);
      const res = await send(port(), 'POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } });
      expect(res.status).toBe(401);
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
    expect(show(late.filter((s) => !s.good))).toBe('');
  });

  it('lost no user and no session written before the kill', async () => {
    const usersBefore = written.users.filter((u) => u.at < killedAt);
    const sessionsBefore = written.sessions.filter((s) => s.at < killedAt);
    expect(usersBefore.length).toBeGreaterThan(0);
    expect(sessionsBefore.length).toBeGreaterThan(0);

    // Users: each logs in with its password (the stored hash survived).
    for (const user of usersBefore) await login(port(), user.username);

    // Sessions: the access token issued before the fault is still accepted, the refresh token still
    // rotates, and the new access token works. The probe's refresh and logout, answered 503 during
    // the outage, changed nothing.
    for (const session of [dormant, probe, ...sessionsBefore]) {
      await expectStatus(
        send(port(), 'GET', '/api/auth/verify', { token: session.accessToken }),
        204,
        `verify ${session.username}`,
      );
      const rotated = await refresh(port(), session);
      await expectStatus(
        send(port(), 'GET', '/api/users/me', { token: rotated.accessToken }),
        200,
        `users/me ${session.username}`,
      );
    }
  });

  it('stays up: the same process serves, and logged no 500 and no unhandled error', async () => {
    expect(app!.alive()).toBe(true);
    expect((await send(port(), 'GET', '/health/live')).status).toBe(200);
    expect((await send(port(), 'GET', '/health')).status).toBe(200);
    expect(app!.output()).not.toMatch(/-> 500|unhandled|uncaught/i);
  });
});
