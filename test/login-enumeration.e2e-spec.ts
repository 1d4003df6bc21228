import { createTestApp, type TestApp } from './support/test-app';
import { register, uniqueUsername } from './support/auth-helpers';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Login must not tell whether a username exists: not by status, body or headers, and not by time.
 * The two cases are measured interleaved, in one run, and compared as a ratio of medians with a
 * bound wide enough for a busy machine; skipping the dummy hash for unknown users makes them about
 * a hundred times faster, far outside it.
 */
describe('login does not reveal whether a username exists', () => {
  let t: TestApp;
  const ROUNDS = 15;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '1000' }, 'enumeration');
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers an unknown username and a wrong password identically', async () => {
    const { username } = await register(t);
    const unknown = await t
      .http()
      .post('/api/auth/login')
      .send({ username: uniqueUsername('nobody'), password: 'wrong-password' });
    const wrong = await t.http().post('/api/auth/login').send({ username, password: 'wrong-password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    const comparableHeaders = (headers: Record<string, unknown>) => {
      const { date: _date, etag: _etag, 'x-request-id': _requestId, ...rest } = headers;
      return rest;
    };
    expect(comparableHeaders(unknown.headers)).toEqual(comparableHeaders(wrong.headers));
  });

  it('takes as long for an unknown username as for a wrong password (ratio of medians within 0.5-2)', async () => {
    const { username } = await register(t);
    const timeLogin = async (name: string) => {
      const started = process.hrtime.bigint();
      const res = await t.http().post('/api/auth/login').send({ username: name, password: 'wrong-password' });
      expect(res.status).toBe(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // Warm-up: the first requests pay for JIT and connection set-up.
    await timeLogin(username);
    await timeLogin(uniqueUsername('nobody'));

    const existing: number[] = [];
    const missing: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      existing.push(await timeLogin(username));
      missing.push(await timeLogin(uniqueUsername('nobody')));
    }
    const ratio = median(missing) / median(existing);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
