import { PASSWORD, uniqueUsername, listenOnBothLoopbacks, listenOnV4, send, type Reply } from '../support/http';
import { appOpener, expectNoLeak, median, timed } from './support/attack-kit';
import { hashPasswordsAtProductionCost } from '../support/password-hash-cost';

/**
 * Password hashing as a denial-of-service lever: every check costs argon2id's memory and time on a small
 * pool of threads, so whoever can queue checks faster than they run can make everyone else wait.
 * Sources: OWASP Password Storage Cheat Sheet (a high work factor "may make the application vulnerable
 * to DoS"), OWASP Denial of Service Cheat Sheet, ASVS 4.0 V11.1.4 (anti-automation), CWE-770
 * (allocation of resources without limits).
 * Properties: a flood of wrong password changes from one account costs other users' logins little;
 * beyond PASSWORD_HASH_QUEUE_LIMIT waiting jobs a request answers 503 + Retry-After at once (never an
 * unbounded wait), the others answer as usual, and logins work again right after the burst.
 */

jest.setTimeout(90_000);
// The queue fills, and logins wait, only as hashes take their production time.
hashPasswordsAtProductionCost();

const openApp = appOpener();

/** A request that timed out or failed on the socket reads as status 0, so it is counted, not thrown. */
const NO_ANSWER: Reply = { status: 0, headers: {}, text: '', body: {} };
function attempt(base: string, method: string, path: string, json: unknown, headers: Record<string, string> = {}) {
  return send(base, method, path, { json, headers, timeoutMs: 30_000 }).catch(() => NO_ANSWER);
}
const loginAt = (base: string, username: string, password = PASSWORD) =>
  attempt(base, 'POST', '/api/auth/login', { username, password });

async function registerAt(base: string, username: string): Promise<void> {
  expect((await attempt(base, 'POST', '/api/auth/register', { username, password: PASSWORD })).status).toBe(201);
}

function tally(replies: Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const res of replies) counts[res.status] = (counts[res.status] ?? 0) + 1;
  return counts;
}

describe('security: a flood of wrong password changes from one account (OWASP Denial of Service Cheat Sheet, CWE-770)', () => {
  const FLOOD = 300;
  const SAMPLES = 6;
  /** Apart enough that the victim's own requests never wait for each other. */
  const SPACING_MS = 150;
  let bases: { v4: string; v6: string };

  beforeAll(async () => {
    // The limits a deployment runs with, not the tests' usual AUTH_RATE_LIMIT=0; the default state store.
    // undefined: the variable unset, so its default applies.
    const t = await openApp(
      { AUTH_RATE_LIMIT: '100', PASSWORD_CHANGE_RATE_LIMIT: undefined, LOGIN_MAX_FAILURES: '5' },
      'secflood',
    );
    bases = await listenOnBothLoopbacks(t);
  });

  type Sample = { ms: number; status: number };
  /**
   * SAMPLES rounds from ::1, SPACING_MS apart and not waiting for each other: a login of the victim, and
   * with it a request that hashes nothing (GET /api/users/me), whose figure tells a wait for the hashing
   * threads from a wait for the server as a whole.
   */
  async function victimRounds(username: string, token: string): Promise<{ logins: Sample[]; hashFree: Sample[] }> {
    const sample = async (request: () => Promise<Reply>): Promise<Sample> => {
      const { ms, result } = await timed(request);
      return { ms, status: result.status };
    };
    const rounds = await Promise.all(
      Array.from({ length: SAMPLES }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * SPACING_MS));
        return Promise.all([
          sample(() => loginAt(bases.v6, username)),
          sample(() => attempt(bases.v6, 'GET', '/api/users/me', undefined, { authorization: `Bearer ${token}` })),
        ]);
      }),
    );
    return { logins: rounds.map(([login]) => login), hashFree: rounds.map(([, hashFree]) => hashFree) };
  }
  const medianMs = (samples: Sample[]) => Math.round(median(samples.map((s) => s.ms)));

  it(`${FLOOD} concurrent wrong password changes from 127.0.0.1: at most LOGIN_MAX_FAILURES are checked, and another user's login from ::1 stays within 30x its idle median`, async () => {
    const victim = uniqueUsername('victim');
    const attacker = uniqueUsername('flooder');
    await registerAt(bases.v6, victim);
    await registerAt(bases.v6, attacker);
    const attackerLogin = await loginAt(bases.v4, attacker);
    expect(attackerLogin.status).toBe(200);
    const authorization = `Bearer ${attackerLogin.body.accessToken as string}`;
    // Warm-up, then the victim's idle figures.
    const victimLogin = await loginAt(bases.v6, victim);
    expect(victimLogin.status).toBe(200);
    const idle = await victimRounds(victim, victimLogin.body.accessToken as string);

    const flood = Promise.all(
      Array.from({ length: FLOOD }, (_, i) =>
        attempt(
          bases.v4,
          'PATCH',
          '/api/users/me/password',
          { currentPassword: `wrong-guess-${i}`, newPassword: 'a brand new passphrase' },
          { authorization },
        ),
      ),
    );
    // The flood is on the wire (and queued, if it queues) before the victim comes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const during = await victimRounds(victim, victimLogin.body.accessToken as string);
    const floodReplies = await flood;

    const statuses = [idle, during].flatMap((phase) => [...phase.logins, ...phase.hashFree].map((s) => s.status));
    expect(statuses).toEqual([...Array(2 * SAMPLES).fill(200), ...Array(2 * SAMPLES).fill(200)]);
    const figures = {
      loginIdleMs: medianMs(idle.logins),
      loginDuringMs: medianMs(during.logins),
      hashFreeIdleMs: medianMs(idle.hashFree),
      hashFreeDuringMs: medianMs(during.hashFree),
    };
    // Refused, never accepted, never a 5xx.
    const counts = tally(floodReplies);
    expect({ counts, refused: (counts[403] ?? 0) + (counts[429] ?? 0) }).toEqual({ counts, refused: FLOOD });
    // The deterministic side of it: a 403 is a password that was checked; at most LOGIN_MAX_FAILURES were.
    expect({ counts, checked: (counts[403] ?? 0) <= 5 }).toEqual({ counts, checked: true });
    // Wide, as timing bounds on a shared 2-core machine must be: 300 requests at once cost the event
    // loop and the database time whatever refuses them, and more so while other suites run. A queue of
    // 300 password checks costs the victim 300 hashes of about 45 ms each: 50x and more.
    expect({ ...figures, withinBound: figures.loginDuringMs <= 30 * figures.loginIdleMs }).toEqual({
      ...figures,
      withinBound: true,
    });
  });
});

describe('security: the hashing queue is bounded (PASSWORD_HASH_QUEUE_LIMIT; OWASP Password Storage Cheat Sheet, CWE-770)', () => {
  const USERS = 24;
  let base: string;
  const users: string[] = [];

  beforeAll(async () => {
    const t = await openApp({ PASSWORD_HASH_QUEUE_LIMIT: '2', AUTH_RATE_LIMIT: '0' }, 'sechashqueue');
    base = await listenOnV4(t);
    // One at a time: registration hashes too, and must not meet the bound here.
    for (let i = 0; i < USERS; i++) {
      users.push(uniqueUsername('queued'));
      await registerAt(base, users[i]);
    }
  });

  /** Over the bound: 503 in the contract's error shape with a Retry-After, and nothing leaked. */
  function expectBusy(res: Reply, label: string): void {
    expectNoLeak({ status: 200, text: res.text }, label);
    const retryAfter = Number(res.headers['retry-after']);
    expect({ label, body: res.body, retryAfterOk: retryAfter >= 1 }).toEqual({
      label,
      body: { statusCode: 503, message: expect.any(String), error: 'Service Unavailable' },
      retryAfterOk: true,
    });
  }

  /** Some 503s, every other answer the normal one, nothing else (no hang, no other 5xx). */
  function expectBoundedBurst(replies: Reply[], normal: number): void {
    const counts = tally(replies);
    expect({ counts, someBusy: (counts[503] ?? 0) >= 1, someServed: (counts[normal] ?? 0) >= 1 }).toEqual({
      counts,
      someBusy: true,
      someServed: true,
    });
    expect({ counts, others: replies.length - (counts[503] ?? 0) - (counts[normal] ?? 0) }).toEqual({
      counts,
      others: 0,
    });
    replies.filter((res) => res.status === 503).forEach((res, i) => expectBusy(res, `503 #${i}`));
  }

  it(`${USERS} concurrent logins of distinct users with the right password: some 503 + Retry-After, the rest 200 with tokens, then logins work`, async () => {
    const replies = await Promise.all(users.map((username) => loginAt(base, username)));
    expectBoundedBurst(replies, 200);
    replies.filter((res) => res.status === 200).forEach((res) => expect(typeof res.body.accessToken).toBe('string'));
    const refused = users[replies.findIndex((res) => res.status === 503)];
    expect((await loginAt(base, refused)).status).toBe(200);
  });

  it(`${USERS} concurrent logins of unknown usernames (one dummy verification each): some 503, the rest the usual 401`, async () => {
    const replies = await Promise.all(
      Array.from({ length: USERS }, (_, i) => loginAt(base, uniqueUsername('ghost'), `guess-${i}-password`)),
    );
    expectBoundedBurst(replies, 401);
    replies
      .filter((res) => res.status === 401)
      .forEach((res) =>
        expect(res.body).toEqual({ statusCode: 401, message: expect.any(String), error: 'Unauthorized' }),
      );
    expect((await loginAt(base, users[0])).status).toBe(200);
  });
});
