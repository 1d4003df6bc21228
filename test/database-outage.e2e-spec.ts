import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startFerretDb, type RunningFerretDb } from '../src/database/embedded/ferretdb-server';
import { login, registerAndLogin, type LoggedIn } from './support/auth-helpers';
import { createTestApp, type TestApp } from './support/test-app';
import { eventually } from './support/instance-client';
import { TEST_ENV } from './support/test-env';

/**
 * The database goes away under a running app and comes back. The app must fail closed (503, never a
 * 200 nor a 401 for a token it cannot check), leak nothing of the driver, stay up, and recover alone.
 * This file owns its FerretDB: stopping the shared one would break the other suites.
 */

// Each request during the outage waits for the driver's server selection (3 s), stopping FerretDB
// takes a few seconds, and recovery is polled for up to 20 s: Jest's 5 s default is too short.
jest.setTimeout(45_000);

const RECOVERY_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 250;
/** Driver words, stack frames and file paths that must never reach a client. */
const LEAKS =
  /Server selection|ECONNREFUSED|Mongo|mongoose|topology|127\.0\.0\.1|\bat \S+ \(|node_modules|\/src\/|\.ts:\d|\.js:\d/i;

interface HttpResult {
  status: number;
  body: unknown;
  text: string;
}

function expectUnavailable(res: HttpResult): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 503,
    body: { statusCode: 503, message: expect.any(String), error: expect.any(String) },
  });
  expect(res.text).not.toMatch(LEAKS);
}

describe('database outage: fail closed with 503, stay up, recover', () => {
  let dataDir: string;
  let port: number;
  let database: RunningFerretDb | undefined;
  let t: TestApp | undefined;
  let user: LoggedIn;

  const app = (): TestApp => {
    if (!t) throw new Error('app not started');
    return t;
  };
  const me = () => app().http().get('/api/users/me').set('Authorization', `Bearer ${user.accessToken}`);

  async function startDatabase(): Promise<void> {
    const binary = process.env[TEST_ENV.ferretDbBinary];
    if (!binary) throw new Error(`${TEST_ENV.ferretDbBinary} is not set: run through jest's global setup`);
    database = await startFerretDb({ binary, dataDir, port, startTimeoutMs: 15_000 });
  }

  async function stopDatabase(): Promise<void> {
    const running = database;
    database = undefined;
    await running?.stop();
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'slj-outage-db-'));
    port = await findFreePort();
    await startDatabase();
    t = await createTestApp({ MONGODB_URI: `mongodb://127.0.0.1:${port}/` }, 'outage');
    user = await registerAndLogin(app());
    await me().expect(200);
    await app().http().get('/health').expect(200);
  });

  afterAll(async () => {
    // Database first up again so that closing the app (which drops its database) does not wait on it.
    try {
      if (!database && dataDir) await startDatabase().catch(() => undefined);
      await t?.close();
    } finally {
      await stopDatabase().catch(() => undefined);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  });

  describe('while the database is down', () => {
    beforeAll(async () => {
      await stopDatabase();
    });

    it('GET /health answers 503 with the error body', async () => {
      expectUnavailable(await app().http().get('/health'));
    });

    it('GET /health/live still answers 200 (it touches no database)', async () => {
      await app().http().get('/health/live').expect(200);
    });

    it('GET /api/users/me with a valid token answers 503: not 200, not 401, not 500', async () => {
      expectUnavailable(await me());
    });

    it('GET /api/auth/verify with a valid token answers 503 (a proxy must not let the request through)', async () => {
      const res = await app().http().get('/api/auth/verify').set('Authorization', `Bearer ${user.accessToken}`);
      expectUnavailable(res);
      expect(res.headers['x-user-id']).toBeUndefined();
    });

    it('POST /api/auth/login answers 503 and issues no token', async () => {
      const res = await app().http().post('/api/auth/login').send({ username: user.username, password: user.password });
      expectUnavailable(res);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('the process is still up and serving after those failures', async () => {
      await app().http().get('/health/live').expect(200);
      expectUnavailable(await app().http().get('/health'));
    });
  });

  describe('after the database comes back on the same port and data folder', () => {
    beforeAll(async () => {
      await startDatabase();
    });

    it(`GET /health answers 200 again within ${RECOVERY_TIMEOUT_MS / 1000} s`, async () => {
      const res = await eventually(
        () => app().http().get('/health').expect(200),
        RECOVERY_TIMEOUT_MS,
        POLL_INTERVAL_MS,
      );
      expect(res.body).toMatchObject({ status: 'ok' });
    });

    it('the token issued before the outage works again: its session survived', async () => {
      const res = await eventually(() => me().expect(200), RECOVERY_TIMEOUT_MS, POLL_INTERVAL_MS);
      expect(res.body).toMatchObject({ username: user.username });
    });

    it('the user written before the outage can log in again, and the new token works', async () => {
      const again = await eventually(
        () => login(app(), user.username, user.password),
        RECOVERY_TIMEOUT_MS,
        POLL_INTERVAL_MS,
      );
      await app().http().get('/api/users/me').set('Authorization', `Bearer ${again.accessToken}`).expect(200);
    });
  });
});
