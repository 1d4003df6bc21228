import { createTestApp, type TestApp } from '../support/test-app';
import { PASSWORD, register, uniqueUsername, listenOnBothLoopbacks, send } from '../support/http';
import { median, timed } from './support/attack-kit';
import { hashPasswordsAtProductionCost } from '../support/password-hash-cost';

/**
 * Account enumeration. Sources: OWASP Authentication Cheat Sheet ("Authentication and error messages":
 * generic responses, and the same response time), OWASP Credential Stuffing Prevention Cheat Sheet,
 * ASVS 4.0 V2.2.1 (anti-automation), WSTG-IDNT-04 (account enumeration).
 * Properties: a login for an unknown username and one with a wrong password are indistinguishable by
 * status, body, headers and time; register, which must answer 409 for a taken name, is rate-limited
 * per address by AUTH_RATE_LIMIT so that probing names through it is slow.
 */

jest.setTimeout(90_000);
// Timing is compared: a login must spend a real argon2id verification.
hashPasswordsAtProductionCost();

/** Headers that legitimately differ between any two responses. */
const PER_RESPONSE_HEADERS = ['date', 'x-request-id'];
const comparable = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_RESPONSE_HEADERS.includes(name)));

describe('security: login does not reveal whether a username exists (OWASP Authentication Cheat Sheet, WSTG-IDNT-04)', () => {
  let t: TestApp;
  let existing: string;
  const ROUNDS = 15;

  beforeAll(async () => {
    // The failure limit is high: the timing test alone makes 30 failed logins for one username.
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000' }, 'secenum');
    existing = (await register(t, uniqueUsername('known'))).username;
  });
  afterAll(async () => {
    await t?.close();
  });

  const loginWith = (username: string, password = 'wrong-password') =>
    t.http().post('/api/auth/login').send({ username, password });

  it('unknown username vs wrong password: same status, same body, same headers (apart from Date and X-Request-Id)', async () => {
    const unknown = await loginWith(uniqueUsername('nobody'));
    const wrong = await loginWith(existing);
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.text).toBe(wrong.text);
    expect(comparable(unknown.headers)).toEqual(comparable(wrong.headers));
  });

  it('unknown username vs wrong password with an otherwise-valid but unusual password (128 characters): same answer', async () => {
    const long = 'p'.repeat(128);
    const unknown = await loginWith(uniqueUsername('nobody'), long);
    const wrong = await loginWith(existing, long);
    expect([unknown.status, unknown.text]).toEqual([wrong.status, wrong.text]);
  });

  it('timing: medians of interleaved logins for an unknown username and a wrong password are within a ratio of 0.5-2.0', async () => {
    const timeLogin = async (username: string) => {
      const { ms, result } = await timed(() => loginWith(username));
      expect(result.status).toBe(401);
      return ms;
    };
    // Warm-up: the first requests pay for JIT and connection set-up.
    await timeLogin(existing);
    await timeLogin(uniqueUsername('nobody'));
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, and the order alternates, so that load on the machine hits both cases alike.
      if (round % 2 === 0) {
        known.push(await timeLogin(existing));
        unknown.push(await timeLogin(uniqueUsername('nobody')));
      } else {
        unknown.push(await timeLogin(uniqueUsername('nobody')));
        known.push(await timeLogin(existing));
      }
    }
    const ratio = median(unknown) / median(known);
    expect({ ratio, medians: [median(known), median(unknown)], within: ratio > 0.5 && ratio < 2 }).toEqual({
      ratio,
      medians: [median(known), median(unknown)],
      within: true,
    });
  });
});

describe('security: the failed-login limit does not reveal whether a username exists (OWASP Authentication Cheat Sheet)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '2' }, 'secenum429');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an unknown username is throttled after as many failures as an existing one, with the same 429 body', async () => {
    const known = (await register(t, uniqueUsername('known'))).username;
    const unknown = uniqueUsername('nobody');
    const statuses = async (username: string) => {
      const seen: number[] = [];
      for (let i = 0; i < 3; i++)
        seen.push((await t.http().post('/api/auth/login').send({ username, password: 'wrong-password' })).status);
      return seen;
    };
    expect(await statuses(known)).toEqual([401, 401, 429]);
    expect(await statuses(unknown)).toEqual([401, 401, 429]);
    const [a, b] = await Promise.all(
      [known, unknown].map((username) =>
        t.http().post('/api/auth/login').send({ username, password: 'wrong-password' }),
      ),
    );
    expect(a.text).toBe(b.text);
  });
});

describe('security: register is rate-limited per address (AUTH_RATE_LIMIT; OWASP Authentication Cheat Sheet, ASVS 4.0 V2.2.1)', () => {
  let t: TestApp;
  let base: { v4: string; v6: string };
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '3' }, 'secenumreg');
    base = await listenOnBothLoopbacks(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('probing names through register (409 = taken): the 4th attempt from one address is 429 + Retry-After, another address goes on', async () => {
    const taken = uniqueUsername('taken');
    const statuses: number[] = [];
    statuses.push(
      (await send(base.v6, 'POST', '/api/auth/register', { json: { username: taken, password: PASSWORD } })).status,
    );
    for (const username of [taken, uniqueUsername('probe'), taken]) {
      statuses.push(
        (await send(base.v4, 'POST', '/api/auth/register', { json: { username, password: PASSWORD } })).status,
      );
    }
    expect(statuses).toEqual([201, 409, 201, 409]);
    const limited = await send(base.v4, 'POST', '/api/auth/register', {
      json: { username: taken, password: PASSWORD },
    });
    expect({ status: limited.status, body: limited.body }).toEqual({
      status: 429,
      body: { statusCode: 429, message: expect.any(String), error: 'Too Many Requests' },
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(
      (
        await send(base.v6, 'POST', '/api/auth/register', {
          json: { username: uniqueUsername('fine'), password: PASSWORD },
        })
      ).status,
    ).toBe(201);
  });
});
