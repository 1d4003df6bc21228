import type { AddressInfo } from 'node:net';
import { createTestApp, type TestApp } from './support/test-app';
import { PASSWORD, register } from './support/auth-helpers';

/**
 * The server listens on "::" so that one test can call it from two client addresses: 127.0.0.1
 * (seen as ::ffff:127.0.0.1) and ::1.
 */
async function listenOnBothLoopbacks(t: TestApp): Promise<{ v4: string; v6: string }> {
  await t.app.listen(0, '::');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return { v4: `http://127.0.0.1:${port}`, v6: `http://[::1]:${port}` };
}

function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('failed logins per username and address (LOGIN_MAX_FAILURES, LOGIN_FAILURE_WINDOW)', () => {
  let t: TestApp;
  let base: { v4: string; v6: string };
  const WINDOW_MS = 3000;

  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '3', LOGIN_FAILURE_WINDOW: `${WINDOW_MS}ms` }, 'loginlimit');
    base = await listenOnBothLoopbacks(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 with Retry-After after the limit, even to the right password, and not from another address', async () => {
    const { username } = await register(t);
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await post(base.v4, '/api/auth/login', { username, password: 'wrong-password' })).status).toBe(401);
    }
    const blocked = await post(base.v4, '/api/auth/login', { username, password: PASSWORD });
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(WINDOW_MS / 1000));
    expect(await blocked.json()).toEqual({ statusCode: 429, message: expect.any(String), error: 'Too Many Requests' });

    // Nobody can lock a user out: the same account from another address still logs in.
    const elsewhere = await post(base.v6, '/api/auth/login', { username, password: PASSWORD });
    expect(elsewhere.status).toBe(200);

    // Other usernames from the blocked address are unaffected.
    const other = await register(t);
    expect((await post(base.v4, '/api/auth/login', { username: other.username, password: PASSWORD })).status).toBe(200);
  });

  it('treats an unknown username the same way, so 429 does not reveal whether it exists', async () => {
    const username = `ghost_${Date.now()}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await post(base.v4, '/api/auth/login', { username, password: 'wrong-password' })).status).toBe(401);
    }
    expect((await post(base.v4, '/api/auth/login', { username, password: 'wrong-password' })).status).toBe(429);
  });

  it('lifts the block when the window has passed', async () => {
    const { username } = await register(t);
    for (let attempt = 0; attempt < 3; attempt++)
      await post(base.v4, '/api/auth/login', { username, password: 'nope-nope' });
    expect((await post(base.v4, '/api/auth/login', { username, password: PASSWORD })).status).toBe(429);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 300));
    expect((await post(base.v4, '/api/auth/login', { username, password: PASSWORD })).status).toBe(200);
  });

  it('counts usernames regardless of case', async () => {
    const { username } = await register(t);
    for (let attempt = 0; attempt < 3; attempt++) {
      await post(base.v4, '/api/auth/login', {
        username: attempt % 2 ? username.toUpperCase() : username,
        password: 'nope-nope',
      });
    }
    expect(
      (await post(base.v4, '/api/auth/login', { username: username.toUpperCase(), password: PASSWORD })).status,
    ).toBe(429);
  });
});

describe('requests per minute per address to /api/auth/* (AUTH_RATE_LIMIT)', () => {
  let t: TestApp;
  let base: { v4: string; v6: string };

  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '5' }, 'authlimit');
    base = await listenOnBothLoopbacks(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers the request over the limit with 429 and Retry-After; other addresses and other routes go on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(base.v4, '/api/auth/refresh', { refreshToken: 'x' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);

    const limited = await post(base.v4, '/api/auth/login', { username: 'someone', password: 'whatever1' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({ statusCode: 429, message: expect.any(String), error: 'Too Many Requests' });

    // Protected auth routes count too, before authentication.
    expect((await fetch(`${base.v4}/api/auth/sessions`)).status).toBe(429);
    // Forward-auth does not: a proxy asks it for every request it passes on.
    expect((await fetch(`${base.v4}/api/auth/verify`)).status).toBe(401);
    // Routes outside /api/auth are not limited, and another address has its own budget.
    expect((await fetch(`${base.v4}/health/live`)).status).toBe(200);
    expect((await fetch(`${base.v4}/api/users/me`)).status).toBe(401);
    expect((await post(base.v6, '/api/auth/refresh', { refreshToken: 'x' })).status).toBe(401);
  });
});
