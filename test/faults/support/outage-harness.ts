import { expectErrorBody } from '../../support/contract-assertions';
import type { Reply } from '../../support/http';
import type { AppProcess } from './processes';
import { show, tally, type Sample, type Traffic } from './traffic';

/**
 * The fault suites' harness, in one import: the processes (the built `node main.js`, a FerretDB and
 * a Redis to kill), the recorded traffic and its sessions, and the checks every outage makes of what
 * was answered.
 */
export * from './processes';
export * from './sessions';
export * from './traffic';

/** A revoked session's token accepted: the failure of a suite's revocation test. */
export const acceptedRevoked = (s: Sample): boolean =>
  s.route.startsWith('revoked ') && s.status !== undefined && s.status < 300;

/** What may never appear in an answer of any fault: addresses, stack frames, paths. */
const ALWAYS_LEAKS = /127\.0\.0\.1|\bat \S+ \(|node_modules|\.ts:\d|\.js:\d/i;

/**
 * Every request answered completely, with the route's own answer or a tolerated one (never a 500, a
 * reset or a hang; `alsoWrong` adds the suite's own), and every 503 the contract's error body,
 * saying nothing of the dependency (`leaks`).
 */
export function expectEveryAnswerAllowed(
  traffic: Traffic,
  origin: number,
  leaks: RegExp,
  alsoWrong: (s: Sample) => boolean = () => false,
): void {
  expect(traffic.loopErrors).toEqual([]);
  // A revoked session's token accepted is the failure of the revocation test, not repeated here.
  const wrong = traffic.samples.filter((s) => (!s.allowed && !acceptedRevoked(s)) || alsoWrong(s));
  expect({ wrong: show(wrong, origin), tally: tally(wrong) }).toEqual({ wrong: '', tally: {} });
  for (const s of traffic.samples.filter((sample) => sample.status === 503)) {
    expect(JSON.parse(s.text!)).toEqual({ statusCode: 503, message: expect.any(String), error: 'Service Unavailable' });
    expect(s.text).not.toMatch(leaks);
    expect(s.text).not.toMatch(ALWAYS_LEAKS);
  }
}

/** Before `killedAt`, every answer good and every one of `routes` answered. */
export function expectServedBefore(samples: Sample[], killedAt: number, routes: string[], origin: number): void {
  const before = samples.filter((s) => s.answeredAt < killedAt);
  expect(
    show(
      before.filter((s) => !s.good),
      origin,
    ),
  ).toBe('');
  for (const route of routes) {
    expect({ route, servedBeforeKill: before.some((s) => s.route === route) }).toEqual({
      route,
      servedBeforeKill: true,
    });
  }
}

/**
 * What probeEveryRoute gets in any outage of a dependency of the session check: 503 for every route
 * that checks or changes a session, a token whose session is revoked included (the check cannot run,
 * so it is neither accepted nor called revoked); 401 for a bad signature, which needs no dependency
 * to be refused; 200 for liveness. Readiness and register depend on what is down.
 */
export const FAILED_CLOSED = {
  verify: 503,
  me: 503,
  sessions: 503,
  refresh: 503,
  logout: 503,
  login: 503,
  'revoked verify': 503,
  'forged verify': 401,
  live: 200,
};

/**
 * The probe of every route during an outage: the statuses expected, each 503 the contract's error
 * body without the dependency's words, and nothing of a session given out (no X-User-Id, no cookie,
 * no token). `served` is an answer of the same routes with nothing down: it carries the X-User-Id
 * and the cookies, so the record the outage answers are read from is seen to hold them when sent.
 */
export function expectFailedClosed(
  duringOutage: Record<string, Reply>,
  expected: Record<string, number>,
  leaks: RegExp,
  served: { verify: Reply; login: Reply },
): void {
  const statuses = Object.fromEntries(Object.entries(duringOutage).map(([name, res]) => [name, res.status]));
  expect(statuses).toEqual(expected);
  for (const res of Object.values(duringOutage).filter((r) => r.status === 503)) {
    expectErrorBody(res, 503);
    expect(res.text).not.toMatch(leaks);
    expect(res.text).not.toMatch(ALWAYS_LEAKS);
  }
  expect({ verify: served.verify.status, login: served.login.status }).toEqual({ verify: 204, login: 200 });
  expect(served.verify.headers['x-user-id']).toEqual(expect.any(String));
  expect(served.login.headers['set-cookie']).toEqual(expect.arrayContaining([expect.any(String)]));
  expect(duringOutage.verify.headers['x-user-id']).toBeUndefined();
  expect(duringOutage.login.headers['set-cookie']).toBeUndefined();
  expect(duringOutage.login.text + duringOutage.refresh.text).not.toMatch(/accessToken|refreshToken/);
}

/** The same process still serves, and logged no 500 and no unhandled error. */
export async function expectStaysUp(app: AppProcess): Promise<void> {
  expect(app.alive()).toBe(true);
  expect((await app.client.request('GET', '/health/live')).status).toBe(200);
  expect(app.output()).not.toMatch(/-> 500|unhandled|uncaught/i);
}
