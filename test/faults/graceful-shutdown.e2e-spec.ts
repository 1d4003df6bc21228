import { Agent } from 'node:http';
import { findFreePort } from '../../src/database/embedded/ferretdb-server';
import { PASSWORD } from '../support/http';
import { randomSecret, uniqueDbName } from '../support/test-app';
import { builtMainJs, startApp, type AppProcess } from './support-processes';
import { login, register } from './support-sessions';
import { now, send, sleep, waitFor, type Reply } from './support-traffic';

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

interface Outcome {
  route: string;
  expected: number;
  sentAt: number;
  answeredAt?: number;
  status?: number;
  error?: string;
}

describe('SIGTERM under load (node main.js)', () => {
  let app: AppProcess | undefined;

  afterAll(async () => {
    await app?.kill();
  });

  it('answers every request started before the signal completely, exits 0, then refuses connections', async () => {
    app = await startApp(await builtMainJs(), await findFreePort(), {
      MONGODB_URI: process.env.MONGODB_URI,
      MONGODB_DB_NAME: uniqueDbName('sigterm'),
      ACCESS_TOKEN_SECRET: randomSecret(),
      REFRESH_TOKEN_SECRET: randomSecret(),
    });
    const { port } = app;
    const username = await register(port);
    const sessions = [await login(port, username), await login(port, username)];

    const outcomes: Outcome[] = [];
    const record = (route: string, expected: number, reply: Promise<Reply>): Promise<void> => {
      const outcome: Outcome = { route, expected, sentAt: now() };
      outcomes.push(outcome);
      return reply.then(
        (res) => void Object.assign(outcome, { status: res.status, answeredAt: now() }),
        (error: Error) => void Object.assign(outcome, { error: error.message, answeredAt: now() }),
      );
    };

    // Fast requests, one at a time on each keep-alive connection, until the signal is sent.
    const signal: { at?: number } = {};
    const fastRounds = Array<number>(FAST_CONNECTIONS).fill(0);
    const fastLoops = fastRounds.map(async (_, index) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const token = sessions[index % sessions.length].accessToken;
      const requests: Array<[string, number, () => Promise<Reply>]> = [
        ['verify', 204, () => send(port, 'GET', '/api/auth/verify', { agent, token })],
        ['me', 200, () => send(port, 'GET', '/api/users/me', { agent, token })],
        ['live', 200, () => send(port, 'GET', '/health/live', { agent })],
        ['ready', 200, () => send(port, 'GET', '/health', { agent })],
      ];
      try {
        for (let round = index; signal.at === undefined; round += 1) {
          const [route, expected, request] = requests[round % requests.length];
          await record(route, expected, request());
          fastRounds[index] += 1;
        }
      } finally {
        agent.destroy();
      }
    });
    await waitFor(() => fastRounds.every((n) => n >= 4), 0, 20_000, 'every keep-alive connection to be reused');

    // Slow requests: each login is written to its socket before the signal.
    let loginsSent = 0;
    const body = { username, password: PASSWORD };
    const logins = Array.from({ length: SLOW_LOGINS }, () =>
      record('login', 200, send(port, 'POST', '/api/auth/login', { body, onSent: () => (loginsSent += 1) })),
    );
    await waitFor(() => loginsSent === SLOW_LOGINS, 0, 10_000, 'every login to be written');

    signal.at = now();
    const signalledAt = signal.at;
    app.child.kill('SIGTERM');
    // A new connection while the server drains: answered completely, or refused; never reset.
    const duringDrain = send(port, 'GET', '/health/live').then(
      (res) => `answered ${res.status}`,
      (error: Error) => error.message,
    );

    await Promise.all([...fastLoops, ...logins]);
    const exitCode = await Promise.race([app.exited, sleep(EXIT_DEADLINE_MS).then(() => 'still running')]);

    const failures = outcomes
      .filter((o) => o.status !== o.expected)
      .map((o) => `${o.route}: ${o.error ?? o.status} (sent ${Math.round(o.sentAt - signalledAt)} ms from the signal)`);
    expect(failures).toEqual([]);
    // The signal did arrive under load: requests were still being answered after it.
    const answeredAfter = outcomes.filter((o) => o.answeredAt! > signalledAt);
    expect(answeredAfter.filter((o) => o.route === 'login').length).toBeGreaterThan(0);
    expect(answeredAfter.length).toBeGreaterThan(FAST_CONNECTIONS / 2);

    process.stdout.write(
      `SIGTERM under load: ${outcomes.length} requests started before the signal ` +
        `(${SLOW_LOGINS} logins), ${answeredAfter.length} answered after it; exit code ${String(exitCode)}; ` +
        `a new connection while draining: ${await duringDrain}\n`,
    );
    expect(exitCode).toBe(0);
    expect(await duringDrain).toMatch(/^(answered 200|ECONNREFUSED)$/);
    await expect(send(port, 'GET', '/health/live')).rejects.toThrow(/ECONNREFUSED/);
    expect(app.output()).not.toMatch(/-> 500|unhandled|uncaught/i);
  }, 120_000);
});
