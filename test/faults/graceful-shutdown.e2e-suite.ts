import { PASSWORD, sleep } from '../support/http';
import { randomSecret, uniqueDbName } from '../support/test-app';
import { login, now, register, show, startApp, Traffic, waitFor, type AppProcess } from './support/outage-harness';

/**
 * SIGTERM under load: every request in flight gets a response.
 *
 * The real `node main.js` gets SIGTERM while it holds a mixed load: slow logins (an argon2
 * verification each, on their own connections, all written to their sockets) and fast requests
 * (verify, users/me, health) looping on several keep-alive connections. Every request started
 * before the signal must get a complete response with the status it would have had without the
 * signal (no ECONNRESET, no "socket hang up", no 503), the process must exit 0, and connections must
 * then be refused.
 */

/** Longer than the app's drain deadline (8 s) plus its close: beyond it the process hangs. */
const EXIT_DEADLINE_MS = 15_000;
const FAST_CONNECTIONS = 6;
const SLOW_LOGINS = 16;

describe('SIGTERM under load (node main.js)', () => {
  let app: AppProcess | undefined;
  let traffic: Traffic | undefined;

  afterAll(async () => {
    await traffic?.stop();
    await app?.kill();
  });

  it('answers every request started before the signal completely, exits 0, then refuses connections', async () => {
    app = await startApp({
      MONGODB_URI: process.env.MONGODB_URI,
      MONGODB_DB_NAME: uniqueDbName('sigterm'),
      ACCESS_TOKEN_SECRET: randomSecret(),
      REFRESH_TOKEN_SECRET: randomSecret(),
    });
    const username = await register(app.client);
    const sessions = await Promise.all([login(app.client, username), login(app.client, username)]);

    // Fast requests, one at a time on each keep-alive connection, until the signal is sent.
    const load = new Traffic(app.baseUrl);
    traffic = load;
    const fastRounds = Array<number>(FAST_CONNECTIONS).fill(0);
    fastRounds.forEach((_, index) => {
      const token = sessions[index % sessions.length].accessToken;
      const requests: Array<[string, number, string, string?]> = [
        ['verify', 204, '/api/auth/verify', token],
        ['me', 200, '/api/users/me', token],
        ['live', 200, '/health/live'],
        ['ready', 200, '/health'],
      ];
      load.loop(`fast-${index}`, 0, async (c, round) => {
        const [route, expected, path, bearer] = requests[(index + round) % requests.length];
        await c.call(route, 'GET', path, { good: [expected], tolerated: [], token: bearer });
        fastRounds[index] += 1;
      });
    });
    await waitFor(() => fastRounds.every((n) => n >= 4), 0, 20_000, 'every keep-alive connection to be reused');

    // Slow requests, each on its own connection: each login is written to its socket before the signal.
    let loginsSent = 0;
    const body = { username, password: PASSWORD };
    const logins = Array.from({ length: SLOW_LOGINS }, (_, index) =>
      load
        .client(`login-${index}`, { onSent: () => (loginsSent += 1) })
        .call('login', 'POST', '/api/auth/login', { good: [200], tolerated: [], body }),
    );
    await waitFor(() => loginsSent === SLOW_LOGINS, 0, 10_000, 'every login to be written');

    // No request is started after the signal: the loops end with the one they are waiting on.
    load.halt();
    const signalledAt = now();
    app.child.kill('SIGTERM');
    // A new connection while the server drains: answered completely, or refused; never reset.
    const duringDrain = app.client.request('GET', '/health/live').then(
      (res) => `answered ${res.status}`,
      (error: Error) => error.message,
    );

    await Promise.all([load.stop(), ...logins]);
    const exitCode = await Promise.race([app.exited, sleep(EXIT_DEADLINE_MS).then(() => 'still running')]);

    const { samples } = load;
    expect(
      show(
        samples.filter((s) => !s.good),
        signalledAt,
      ),
    ).toBe('');
    // The signal did arrive under load: requests were still being answered after it.
    const answeredAfter = samples.filter((s) => s.answeredAt > signalledAt);
    expect(answeredAfter.filter((s) => s.route === 'login').length).toBeGreaterThan(0);
    expect(answeredAfter.length).toBeGreaterThan(FAST_CONNECTIONS / 2);

    process.stdout.write(
      `SIGTERM under load: ${samples.length} requests started before the signal ` +
        `(${SLOW_LOGINS} logins), ${answeredAfter.length} answered after it; exit code ${String(exitCode)}; ` +
        `a new connection while draining: ${await duringDrain}\n`,
    );
    expect(exitCode).toBe(0);
    expect(await duringDrain).toMatch(/^(answered 200|ECONNREFUSED)$/);
    await expect(app.client.request('GET', '/health/live')).rejects.toThrow(/ECONNREFUSED/);
    expect(app.output()).not.toMatch(/-> 500|unhandled|uncaught/i);
  }, 120_000);
});
