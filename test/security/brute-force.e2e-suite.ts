import { createTestApp, sharedInstanceEnv, testRedisUrl, type EnvOverrides, type TestApp } from '../support/test-app';
import { PASSWORD, uniqueUsername, listenOnBothLoopbacks, send, type Reply } from '../support/http';
import { startRedis, type RunningRedis } from '../support/redis-server';
import { testClock } from '../support/test-clock';
import { expectNoLeak } from './support/attack-kit';

/**
 * Password guessing and credential stuffing. Sources: OWASP Authentication Cheat Sheet ("Protect
 * against automated attacks"), OWASP Credential Stuffing Prevention Cheat Sheet, ASVS 4.0 V2.2.1
 * (anti-automation: no more than 100 failed attempts per hour on a single account).
 * Properties: LOGIN_MAX_FAILURES failures per username and address within LOGIN_FAILURE_WINDOW give
 * 429 + Retry-After, counted across instances (Redis or the database); AUTH_RATE_LIMIT requests a
 * minute per address to /api/auth/* (protected ones included, forward-auth's verify and routes
 * outside /api/auth excluded) give 429 + Retry-After; neither locks the user out from another
 * address, nor another username out from the blocked address. Apps listen on "::": 127.0.0.1 (the attacker) and ::1 (the user) are two client addresses.
 */

jest.setTimeout(60_000);

type Bases = { v4: string; v6: string };

const loginAt = (base: string, username: string, password: string) =>
  send(base, 'POST', '/api/auth/login', { json: { username, password } });
const registerAt = (base: string, username: string) =>
  send(base, 'POST', '/api/auth/register', { json: { username, password: PASSWORD } });

function expectTooManyRequests(res: Reply, maxRetryAfterSeconds: number, label = ''): void {
  expectNoLeak(res, label);
  expect({ label, status: res.status, body: res.body }).toEqual({
    label,
    status: 429,
    body: { statusCode: 429, message: expect.any(String), error: 'Too Many Requests' },
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect({ label, retryAfter, ok: retryAfter >= 1 && retryAfter <= maxRetryAfterSeconds }).toEqual({
    label,
    retryAfter,
    ok: true,
  });
}

const opened: TestApp[] = [];
const redises: RunningRedis[] = [];
async function openApp(env: EnvOverrides, label: string): Promise<{ t: TestApp; base: Bases }> {
  const t = await createTestApp(env, label);
  opened.push(t);
  return { t, base: await listenOnBothLoopbacks(t) };
}
afterAll(async () => {
  // Apps sharing a database: every one closes, the first drops it (dropping twice is harmless).
  for (const t of opened.reverse()) await t.close();
  for (const redis of redises) await redis.stop();
});

describe('security: brute force on one account (OWASP Authentication Cheat Sheet, ASVS 4.0 V2.2.1)', () => {
  const WINDOW_MS = 60_000;
  let base: Bases;

  beforeAll(async () => {
    // The database's failure store: its window slides on the app's Clock, which the window test moves.
    ({ base } = await openApp(
      { LOGIN_MAX_FAILURES: '3', LOGIN_FAILURE_WINDOW: `${WINDOW_MS}ms`, REDIS_URL: undefined },
      'secbrute',
    ));
  });

  it('LOGIN_MAX_FAILURES wrong passwords from one address: 429 + Retry-After within LOGIN_FAILURE_WINDOW, even for the right password', async () => {
    const username = uniqueUsername('brute');
    expect((await registerAt(base.v4, username)).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await loginAt(base.v4, username, `guess-${i}-password`)).status).toBe(401);
    expectTooManyRequests(
      await loginAt(base.v4, username, 'guess-3-password'),
      Math.ceil(WINDOW_MS / 1000),
      'wrong password',
    );
    expectTooManyRequests(await loginAt(base.v4, username, PASSWORD), Math.ceil(WINDOW_MS / 1000), 'right password');
    // The count is per username: another account logs in from the blocked address.
    const other = uniqueUsername('other');
    expect((await registerAt(base.v4, other)).status).toBe(201);
    expect((await loginAt(base.v4, other, PASSWORD)).status).toBe(200);
  });

  it('the blocked attacker cannot lock the user out: the same account logs in from another address (no account lockout DoS)', async () => {
    const username = uniqueUsername('lockout');
    expect((await registerAt(base.v4, username)).status).toBe(201);
    for (let i = 0; i < 4; i++) await loginAt(base.v4, username, `guess-${i}-password`);
    expect((await loginAt(base.v4, username, PASSWORD)).status).toBe(429);
    expect((await loginAt(base.v6, username, PASSWORD)).status).toBe(200);
  });

  it('the block passes with LOGIN_FAILURE_WINDOW, once the oldest failure has left it (a throttle, not a permanent lock)', async () => {
    /** Room for a request to reach the app while the Clock runs on in real time. */
    const MARGIN_MS = 5_000;
    const username = uniqueUsername('window');
    expect((await registerAt(base.v4, username)).status).toBe(201);
    // The oldest failure is counted, on the app's Clock, between these two readings.
    const firstFrom = testClock.now();
    expect((await loginAt(base.v4, username, 'guess-0-password')).status).toBe(401);
    const firstBy = testClock.now();
    for (let i = 1; i < 3; i++) expect((await loginAt(base.v4, username, `guess-${i}-password`)).status).toBe(401);
    expect((await loginAt(base.v4, username, PASSWORD)).status).toBe(429);

    // Just before the window has passed: still 429, and Retry-After says how little of it is left.
    testClock.advanceTo(firstFrom + WINDOW_MS - MARGIN_MS);
    expectTooManyRequests(
      await loginAt(base.v4, username, PASSWORD),
      Math.ceil((firstBy - firstFrom + MARGIN_MS) / 1000),
      'just before',
    );
    // Just after: the right password logs in.
    testClock.advanceTo(firstBy + WINDOW_MS + 1);
    expect((await loginAt(base.v4, username, PASSWORD)).status).toBe(200);
  });

  it('changing the case of the username does not reset the count', async () => {
    const username = uniqueUsername('casing');
    expect((await registerAt(base.v4, username)).status).toBe(201);
    for (const spelling of [username, username.toUpperCase(), username])
      await loginAt(base.v4, spelling, 'guess-the-password');
    expect((await loginAt(base.v4, username.toUpperCase(), PASSWORD)).status).toBe(429);
  });
});

describe.each([
  ['through Redis (REDIS_URL on both)', true],
  ['through the database (no REDIS_URL)', false],
])(
  'security: brute force spread over two instances, counted %s (OWASP Credential Stuffing Prevention Cheat Sheet)',
  (_mode, withRedis) => {
    /** Two apps on one database (and one Redis): the way two processes behind a load balancer run. */
    async function openPair(label: string, env: EnvOverrides) {
      const shared = sharedInstanceEnv(label, env);
      const a = await openApp(shared, label);
      const b = await openApp(shared, label);
      return { a: a.base, b: b.base };
    }

    it('failed logins alternating between instance A and B: the 5th on either is 429, and the user still logs in from another address', async () => {
      // The run's shared Redis is fine here: the counter's key holds a username of this test only.
      const { a, b } = await openPair(withRedis ? 'secbruteredis' : 'secbrutedb', {
        LOGIN_MAX_FAILURES: '4',
        LOGIN_FAILURE_WINDOW: '1m',
        REDIS_URL: withRedis ? testRedisUrl() : undefined,
      });
      const username = uniqueUsername('spread');
      expect((await registerAt(a.v4, username)).status).toBe(201);
      const statuses: number[] = [];
      for (const on of [a, b, a, b]) statuses.push((await loginAt(on.v4, username, 'guess-the-password')).status);
      expect(statuses).toEqual([401, 401, 401, 401]);
      expectTooManyRequests(await loginAt(a.v4, username, PASSWORD), 60, 'A');
      expectTooManyRequests(await loginAt(b.v4, username, PASSWORD), 60, 'B');
      expect((await loginAt(a.v6, username, PASSWORD)).status).toBe(200);
      expect((await loginAt(b.v6, username, PASSWORD)).status).toBe(200);
    });

    it('AUTH_RATE_LIMIT=6 credential stuffing (one guess per username) over A and B: the 7th request is 429 on both, another address goes on', async () => {
      // A Redis of its own: every suite calls from 127.0.0.1, so the run's Redis holds other suites' counts.
      let redisUrl: string | undefined;
      if (withRedis) {
        const redis = await startRedis();
        redises.push(redis);
        redisUrl = redis.url;
      }
      const { a, b } = await openPair(withRedis ? 'secstuffredis' : 'secstuffdb', {
        AUTH_RATE_LIMIT: '6',
        REDIS_URL: redisUrl,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await loginAt(i % 2 ? b.v4 : a.v4, uniqueUsername('stuffed'), 'leaked-password-1')).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
      expectTooManyRequests(await loginAt(a.v4, uniqueUsername('stuffed'), 'leaked-password-1'), 60, 'A');
      expectTooManyRequests(await loginAt(b.v4, uniqueUsername('stuffed'), 'leaked-password-1'), 60, 'B');
      expect((await registerAt(a.v6, uniqueUsername('other'))).status).toBe(201);
    });
  },
);

describe('security: AUTH_RATE_LIMIT per address on /api/auth/* (OWASP Credential Stuffing Prevention Cheat Sheet, ASVS 4.0 V2.2.1)', () => {
  let base: Bases;
  beforeAll(async () => {
    ({ base } = await openApp({ AUTH_RATE_LIMIT: '5', LOGIN_MAX_FAILURES: '1000' }, 'secauthlimit'));
  });

  it('credential stuffing (a new username each request): the 6th request from one address is 429 + Retry-After on every /api/auth route but verify', async () => {
    for (let i = 0; i < 5; i++)
      expect((await loginAt(base.v4, uniqueUsername('stuffed'), 'leaked-password-1')).status).toBe(401);
    expectTooManyRequests(await loginAt(base.v4, uniqueUsername('stuffed'), 'leaked-password-1'), 60, 'login');
    expectTooManyRequests(await registerAt(base.v4, uniqueUsername('new')), 60, 'register');
    expectTooManyRequests(
      await send(base.v4, 'POST', '/api/auth/refresh', { json: { refreshToken: 'x' } }),
      60,
      'refresh',
    );
    // Protected auth routes are counted too, before authentication.
    expectTooManyRequests(await send(base.v4, 'GET', '/api/auth/sessions'), 60, 'sessions');
    // Forward-auth is not counted, nor refused: a proxy asks it for every request it passes on.
    expect((await send(base.v4, 'GET', '/api/auth/verify')).status).toBe(401);
    // Routes outside /api/auth are not limited.
    expect((await send(base.v4, 'GET', '/health/live')).status).toBe(200);
    expect((await send(base.v4, 'GET', '/api/users/me')).status).toBe(401);
  });

  it('the limited address does not lock anyone out: a user registers and logs in from another address', async () => {
    const username = uniqueUsername('elsewhere');
    expect((await registerAt(base.v6, username)).status).toBe(201);
    expect((await loginAt(base.v6, username, PASSWORD)).status).toBe(200);
  });
});
