import { testRedisUrl } from '../support/test-app';
import { PASSWORD, uniqueUsername, listenOnBothLoopbacks, listenOnV4, send, type Reply } from '../support/http';
import { appOpener, expectNoLeak } from './support/attack-kit';
import { hashPasswordsAtProductionCost } from '../support/password-hash-cost';

/**
 * Getting around the guessing brakes: concurrency and address rotation. Sources: OWASP Authentication
 * Cheat Sheet ("Protect against automated attacks"), OWASP Credential Stuffing Prevention Cheat Sheet
 * (IP-based limits must not be dodged by rotating addresses), ASVS 4.0 V2.2.1 (no more than 100 failed
 * attempts per hour on a single account), V11.1.4 (anti-automation), CWE-362 (check-then-act race).
 * Properties: at most LOGIN_MAX_FAILURES password checks per username and client address however
 * concurrent, for login and password change, in the database and in Redis; a client address is an
 * IPv4 address or an IPv6 /64 (an IPv4-mapped IPv6 address is its IPv4 address) for every
 * per-address limit; password change has a per-address budget of PASSWORD_CHANGE_RATE_LIMIT a minute
 * of its own.
 */

jest.setTimeout(60_000);
// The window a check-then-act race would use is the time a login spends in argon2id.
hashPasswordsAtProductionCost();

const BURST = 40;
/** Guesses from addresses rotated inside one /64: eight times the failures allowed. */
const ROTATED_GUESSES = 40;
const MAX_FAILURES = 5;
const NEW_PASSWORD = 'a brand new passphrase';

const openApp = appOpener();

const from = (address: string) => ({ 'x-forwarded-for': address });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function loginAt(base: string, username: string, password: string, headers: Record<string, string> = {}) {
  return send(base, 'POST', '/api/auth/login', { json: { username, password }, headers });
}
function changePasswordAt(base: string, token: string, currentPassword: string, headers: Record<string, string> = {}) {
  return send(base, 'PATCH', '/api/users/me/password', {
    json: { currentPassword, newPassword: NEW_PASSWORD },
    headers: { ...bearer(token), ...headers },
  });
}
function registerStatus(base: string, username: string, headers: Record<string, string> = {}): Promise<number> {
  return send(base, 'POST', '/api/auth/register', { json: { username, password: PASSWORD }, headers }).then(
    (res) => res.status,
  );
}
async function registerAt(base: string, username: string, headers: Record<string, string> = {}): Promise<void> {
  expect(await registerStatus(base, username, headers)).toBe(201);
}
async function tokenOf(base: string, username: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await loginAt(base, username, PASSWORD, headers);
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}

/** 429 in the contract's shape with a usable Retry-After. */
function expectThrottled(res: Reply, label: string): void {
  expectNoLeak(res, label);
  const retryAfter = Number(res.headers['retry-after']);
  expect({ label, status: res.status, error: res.body?.error, retryAfterOk: retryAfter >= 1 }).toEqual({
    label,
    status: 429,
    error: 'Too Many Requests',
    retryAfterOk: true,
  });
}

function tally(replies: Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const res of replies) counts[res.status] = (counts[res.status] ?? 0) + 1;
  return counts;
}

/**
 * Every reply of the burst is `wrongStatus` or 429, at most MAX_FAILURES of them `wrongStatus`. Returns
 * how many passwords the burst had checked.
 *
 * The burst holds wrong passwords only. Which requests of a burst reach the counter first is up to the
 * network and the event loop, not their order in the array: a right password among them may take one of
 * the first MAX_FAILURES slots, and its success rightly clears the count.
 */
function expectRaceFree(replies: Reply[], wrongStatus: number): number {
  const counts = tally(replies);
  const checked = counts[wrongStatus] ?? 0;
  const ok = checked <= MAX_FAILURES && checked + (counts[429] ?? 0) === replies.length;
  expect({ counts, ok }).toEqual({ counts, ok: true });
  replies.filter((res) => res.status === 429).forEach((res, i) => expectThrottled(res, `burst 429 #${i}`));
  return checked;
}

/**
 * Wrong guesses one at a time up to MAX_FAILURES checks in all, each still checked (an over-eager
 * refusal under contention must not count as a failure); the limit is then reached exactly.
 */
async function useUpTheRest(checked: number, guess: (i: number) => Promise<Reply>, wrongStatus: number) {
  const statuses: number[] = [];
  for (let i = checked; i < MAX_FAILURES; i++) statuses.push((await guess(i)).status);
  expect(statuses).toEqual(Array(MAX_FAILURES - checked).fill(wrongStatus));
}

describe.each([
  ['in the database (no REDIS_URL)', false],
  ['in Redis (REDIS_URL)', true],
])('security: concurrent guesses against one account, counted %s (CWE-362, ASVS 4.0 V2.2.1)', (_mode, withRedis) => {
  let base: { v4: string; v6: string };
  beforeAll(async () => {
    // The run's shared Redis is fine: every counter's key holds a username of this file only.
    const t = await openApp(
      {
        LOGIN_MAX_FAILURES: String(MAX_FAILURES),
        LOGIN_FAILURE_WINDOW: '1m',
        AUTH_RATE_LIMIT: '0',
        REDIS_URL: withRedis ? testRedisUrl() : undefined,
      },
      withRedis ? 'secraceredis' : 'secracedb',
    );
    base = await listenOnBothLoopbacks(t);
  });

  it(`${BURST} wrong logins at once from one address: at most ${MAX_FAILURES} x 401, the rest 429; once ${MAX_FAILURES} are used up the right password is 429`, async () => {
    const username = uniqueUsername('race');
    await registerAt(base.v6, username);
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) => loginAt(base.v4, username, `guess-${i}-pw`)),
    );
    await useUpTheRest(expectRaceFree(replies, 401), (i) => loginAt(base.v4, username, `one-more-${i}-pw`), 401);
    expectThrottled(await loginAt(base.v4, username, PASSWORD), 'right password after the burst');
    // Positive control, and no lockout: the account itself is fine from another address.
    expect((await loginAt(base.v6, username, PASSWORD)).status).toBe(200);
  });

  it(`${BURST} wrong password changes at once with a stolen token: at most ${MAX_FAILURES} x 403, the rest 429; once ${MAX_FAILURES} are used up the right one is 429`, async () => {
    const username = uniqueUsername('racepw');
    await registerAt(base.v6, username);
    const token = await tokenOf(base.v6, username);
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) => changePasswordAt(base.v4, token, `guess-${i}`)),
    );
    await useUpTheRest(expectRaceFree(replies, 403), (i) => changePasswordAt(base.v4, token, `one-more-${i}`), 403);
    expectThrottled(await changePasswordAt(base.v4, token, PASSWORD), 'right current password after the burst');
    expect((await changePasswordAt(base.v6, token, PASSWORD)).status).toBe(204);
  });
});

describe('security: failed logins from addresses rotated inside one IPv6 /64 (OWASP Credential Stuffing Prevention Cheat Sheet)', () => {
  let base: string;
  beforeAll(async () => {
    // The app sits behind a proxy on loopback, which tells it each client's address.
    const t = await openApp(
      { TRUST_PROXY: 'loopback', LOGIN_MAX_FAILURES: String(MAX_FAILURES), LOGIN_FAILURE_WINDOW: '1m' },
      'secrotatefail',
    );
    base = await listenOnV4(t);
  });

  it(`${ROTATED_GUESSES} wrong guesses, each from a new address in 2001:db8:1:2::/64: the first ${MAX_FAILURES} are 401, the rest 429; the right password is 429 in that /64, 200 from another`, async () => {
    const username = uniqueUsername('rot6');
    await registerAt(base, username, from('192.0.2.1'));
    const statuses: number[] = [];
    for (let n = 1; n <= ROTATED_GUESSES; n++)
      statuses.push((await loginAt(base, username, `guess-${n}-pw`, from(`2001:db8:1:2::${n.toString(16)}`))).status);
    expect(statuses).toEqual([...Array(MAX_FAILURES).fill(401), ...Array(ROTATED_GUESSES - MAX_FAILURES).fill(429)]);
    expectThrottled(
      await loginAt(base, username, PASSWORD, from('2001:db8:1:2:ffff:ffff:ffff:fffe')),
      'right password in the /64',
    );
    expect((await loginAt(base, username, PASSWORD, from('2001:db8:1:3::1'))).status).toBe(200);
  });

  it('IPv4 is counted per address, and ::ffff:a.b.c.d is the IPv4 address a.b.c.d', async () => {
    const username = uniqueUsername('rot4');
    await registerAt(base, username, from('192.0.2.1'));
    const statuses: number[] = [];
    for (let n = 0; n < MAX_FAILURES; n++) {
      const address = n % 2 ? '::ffff:198.51.100.7' : '198.51.100.7';
      statuses.push((await loginAt(base, username, `guess-${n}-pw`, from(address))).status);
    }
    expect(statuses).toEqual(Array(MAX_FAILURES).fill(401));
    expectThrottled(await loginAt(base, username, PASSWORD, from('198.51.100.7')), 'IPv4');
    expectThrottled(await loginAt(base, username, PASSWORD, from('::ffff:198.51.100.7')), 'IPv4-mapped');
    expect((await loginAt(base, username, PASSWORD, from('198.51.100.8'))).status).toBe(200);
  });
});

describe('security: request budgets per address, IPv6 by /64, and one for password change (OWASP Credential Stuffing Prevention Cheat Sheet, ASVS 4.0 V11.1.4)', () => {
  const LIMIT = 5;
  let base: string;
  beforeAll(async () => {
    const t = await openApp(
      {
        TRUST_PROXY: 'loopback',
        AUTH_RATE_LIMIT: String(LIMIT),
        PASSWORD_CHANGE_RATE_LIMIT: String(LIMIT),
        LOGIN_MAX_FAILURES: '1000',
      },
      'secrotatebudget',
    );
    base = await listenOnV4(t);
  });
  const refreshAt = (address: string) =>
    send(base, 'POST', '/api/auth/refresh', { json: { refreshToken: 'not-a-token' }, headers: from(address) });

  it(`AUTH_RATE_LIMIT=${LIMIT}: registrations and refreshes from rotating addresses in one /64 share one budget; another /64 goes on`, async () => {
    const statuses: number[] = [];
    for (let n = 1; n <= LIMIT; n++) {
      const address = `2001:db8:a:b::${n}`;
      statuses.push(
        n % 2 ? (await refreshAt(address)).status : await registerStatus(base, uniqueUsername('rotreg'), from(address)),
      );
    }
    expect(statuses).toEqual([401, 201, 401, 201, 401]);
    expectThrottled(await refreshAt('2001:db8:a:b:1234:5678:9abc:def0'), 'refresh in the /64');
    expectThrottled(
      await send(base, 'POST', '/api/auth/register', {
        json: { username: uniqueUsername('rotreg'), password: PASSWORD },
        headers: from('2001:db8:a:b::99'),
      }),
      'register in the /64',
    );
    expect((await refreshAt('2001:db8:a:c::1')).status).toBe(401);
  });

  it('::ffff:198.51.100.7 and 198.51.100.7 share one budget; 198.51.100.8 has its own', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < LIMIT; n++)
      statuses.push((await refreshAt(n % 2 ? '::ffff:198.51.100.7' : '198.51.100.7')).status);
    expect(statuses).toEqual(Array(LIMIT).fill(401));
    expectThrottled(await refreshAt('198.51.100.7'), 'IPv4');
    expectThrottled(await refreshAt('::ffff:198.51.100.7'), 'IPv4-mapped');
    expect((await refreshAt('198.51.100.8')).status).toBe(401);
  });

  it(`PATCH /api/users/me/password: the ${LIMIT + 1}th from one address is 429 whatever the body, apart from the /api/auth/* budget`, async () => {
    const username = uniqueUsername('pwbudget');
    await registerAt(base, username, from('203.0.113.50'));
    const token = await tokenOf(base, username, from('203.0.113.51'));
    const attacker = from('203.0.113.51');
    const statuses: number[] = [];
    for (let n = 0; n < LIMIT; n++) {
      const res =
        n % 2
          ? await send(base, 'PATCH', '/api/users/me/password', {
              json: { currentPassword: PASSWORD, newPassword: 'short' },
              headers: { ...bearer(token), ...attacker },
            })
          : await changePasswordAt(base, token, `wrong-${n}`, attacker);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([403, 400, 403, 400, 403]);
    expectThrottled(await changePasswordAt(base, token, PASSWORD, attacker), 'password change');
    // Its own budget: the address still has /api/auth/* requests left (it spent one, on login).
    expect((await refreshAt('203.0.113.51')).status).toBe(401);
    // Rotating inside a /64 does not dodge it either.
    const rotated: number[] = [];
    for (let n = 1; n <= LIMIT + 1; n++)
      rotated.push((await changePasswordAt(base, token, `wrong-${n}`, from(`2001:db8:f:e::${n}`))).status);
    expect(rotated).toEqual([...Array(LIMIT).fill(403), 429]);
    expect((await changePasswordAt(base, token, PASSWORD, from('2001:db8:f:d::1'))).status).toBe(204);
  });
});
