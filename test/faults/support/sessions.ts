import { PASSWORD, uniqueUsername, type InstanceClient, type Reply } from '../../support/http';
import { now, type Traffic } from './traffic';

/** Sessions, and the traffic loops shared by the database and Redis fault suites. */

export interface Session {
  username: string;
  accessToken: string;
  refreshToken: string;
  /** When the request that issued the access token was sent (see clientLoop). */
  issuedAt: number;
}

export async function expectStatus(reply: Promise<Reply>, status: number, what: string): Promise<Reply> {
  const res = await reply;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text}`);
  return res;
}

export async function register(app: InstanceClient, username = uniqueUsername()): Promise<string> {
  await expectStatus(app.register(username, PASSWORD), 201, `register ${username}`);
  return username;
}

export async function login(app: InstanceClient, username: string): Promise<Session> {
  const issuedAt = now();
  const res = await expectStatus(app.login(username, PASSWORD), 200, `login ${username}`);
  return { username, ...tokensOf(res), issuedAt };
}

export async function refresh(app: InstanceClient, session: Session): Promise<Session> {
  const issuedAt = now();
  const res = await expectStatus(app.refresh(session.refreshToken), 200, `refresh ${session.username}`);
  return { ...session, ...tokensOf(res), issuedAt };
}

export function logoutRequest(app: InstanceClient, session: Session): Promise<Reply> {
  return app.request('POST', '/api/auth/logout', { token: session.accessToken });
}

export async function logout(app: InstanceClient, session: Session): Promise<void> {
  await expectStatus(logoutRequest(app, session), 200, `logout ${session.username}`);
}

/**
 * One request of each kind, in parallel, as a fault begins: `dormant`'s token is checked, `probe`'s
 * refresh and logout are sent (to be answered 503), `revoked`'s token replayed and a forged one presented.
 */
export async function probeEveryRoute(
  app: InstanceClient,
  sessions: { dormant: Session; probe: Session; revoked: Session },
): Promise<Record<string, Reply>> {
  const { dormant, probe, revoked } = sessions;
  const requests: Record<string, Promise<Reply>> = {
    verify: app.verify(dormant.accessToken),
    me: app.me(dormant.accessToken),
    sessions: app.request('GET', '/api/auth/sessions', { token: dormant.accessToken }),
    refresh: app.refresh(probe.refreshToken),
    logout: logoutRequest(app, probe),
    login: app.login(probe.username, PASSWORD),
    register: app.register(uniqueUsername('o'), PASSWORD),
    'revoked verify': app.verify(revoked.accessToken),
    'forged verify': app.verify(`${dormant.accessToken.slice(0, -6)}AAAAAA`),
    ready: app.request('GET', '/health'),
    live: app.request('GET', '/health/live'),
  };
  const replies = await Promise.all(Object.values(requests));
  return Object.fromEntries(Object.keys(requests).map((name, index) => [name, replies[index]]));
}

/**
 * Pauses between rounds: each loop keeps its route busy enough to time a recovery to a tenth of a
 * second, while the whole load leaves the two cores to the app under test (a writer round hashes three
 * passwords at the production cost).
 */
const CLIENT_PAUSE_MS = 50;
const WRITER_PAUSE_MS = 200;

/** What the writer loop had acknowledged (201 or 200), with when the acknowledgement arrived. */
export interface Written {
  users: Array<{ username: string; at: number }>;
  sessions: Array<Session & { at: number }>;
  /** Logged out (200): the revoked loop replays them from then on. */
  revoked: Session[];
}

/**
 * A client using its session: verify (the forward-auth check), users/me, and a refresh every third
 * round. A refresh answered 503 may have rotated in the database all the same: the client keeps its
 * token and gets the same successor when it tries again (the suites set the longest
 * REFRESH_REUSE_GRACE allowed, a minute, and retry within seconds of the recovery). `tolerated401`:
 * the client may be refused (a Redis that lost its data); it then refreshes, as a real client does.
 * Each token is tagged with when the request that issued it was sent, so a suite can tell a 401 for
 * a token issued before a fault from one after it.
 */
export function clientLoop(traffic: Traffic, name: string, session: Session, tolerated401 = false): void {
  const tolerated = tolerated401 ? [503, 401] : [503];
  traffic.loop(name, CLIENT_PAUSE_MS, async (c, round) => {
    const token = session.accessToken;
    const tokenIssuedAt = session.issuedAt;
    const verified = await c.call('verify', 'GET', '/api/auth/verify', {
      good: [204],
      tolerated,
      token,
      tokenIssuedAt,
    });
    const me = await c.call('me', 'GET', '/api/users/me', { good: [200], tolerated, token, tokenIssuedAt });
    if (round % 3 === 2 || verified?.status === 401 || me?.status === 401) {
      const issuedAt = now();
      const res = await c.call('refresh', 'POST', '/api/auth/refresh', {
        good: [200],
        body: { refreshToken: session.refreshToken },
      });
      if (res?.status === 200) Object.assign(session, { ...tokensOf(res), issuedAt });
    }
  });
}

/** Writes: a new user, one session kept, one logged out. Only what was acknowledged is recorded. */
export function writerLoop(traffic: Traffic, written: Written): void {
  traffic.loop('writer', WRITER_PAUSE_MS, async (c) => {
    const credentials = { username: uniqueUsername('w'), password: PASSWORD };
    const created = await c.call('register', 'POST', '/api/auth/register', { good: [201], body: credentials });
    if (created?.status !== 201) return;
    written.users.push({ username: credentials.username, at: now() });

    const sessions: Session[] = [];
    for (let i = 0; i < 2; i += 1) {
      const issuedAt = now();
      const res = await c.call('login', 'POST', '/api/auth/login', { good: [200], body: credentials });
      if (res?.status !== 200) return;
      sessions.push({ username: credentials.username, ...tokensOf(res), issuedAt });
    }
    written.sessions.push({ ...sessions[0], at: now() });
    const out = await c.call('logout', 'POST', '/api/auth/logout', { good: [200], token: sessions[1].accessToken });
    if (out?.status === 200) written.revoked.push(sessions[1]);
  });
}

/**
 * Replays the tokens of revoked sessions, one session a round: 401, or 503 while the check cannot
 * run; a 2xx is a failure. The list may grow while the loop runs.
 */
export function revokedLoop(traffic: Traffic, name: string, revoked: Session[], pauseMs = CLIENT_PAUSE_MS): void {
  traffic.loop(name, pauseMs, async (c, round) => {
    const session = revoked[round % revoked.length];
    await c.call('revoked verify', 'GET', '/api/auth/verify', { good: [401], token: session.accessToken });
    await c.call('revoked me', 'GET', '/api/users/me', { good: [401], token: session.accessToken });
    await c.call('revoked refresh', 'POST', '/api/auth/refresh', {
      good: [401],
      body: { refreshToken: session.refreshToken },
    });
  });
}

/** Liveness must answer 200 whatever else is down; readiness 200 or 503. */
export function healthLoop(traffic: Traffic): void {
  traffic.loop('health', 50, async (c) => {
    await c.call('live', 'GET', '/health/live', { good: [200], tolerated: [] });
    await c.call('ready', 'GET', '/health', { good: [200] });
  });
}

function tokensOf(res: Reply): { accessToken: string; refreshToken: string } {
  return { accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}
