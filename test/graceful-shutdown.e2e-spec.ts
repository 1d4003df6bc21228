import { request as httpRequest } from 'node:http';
import { findFreePort } from '../src/database/embedded/ferretdb-server';
import { buildServer, runServer } from './support/built-server';
import { PASSWORD } from './support/auth-helpers';
import { randomSecret, uniqueDbName } from './support/test-app';

function post(port: number, path: string, body: unknown): Promise<number> {
  return new Promise((resolvePost, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolvePost(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** SIGTERM under load: the server stops accepting, answers every request in flight, and exits 0. */
describe('graceful shutdown (node main.js)', () => {
  let mainJs: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ mainJs, cleanup } = await buildServer());
  }, 180_000);
  afterAll(async () => {
    await cleanup?.();
  });

  it('answers every request in flight when SIGTERM arrives, refuses new connections, and exits 0 within 10 s', async () => {
    const port = await findFreePort();
    const server = runServer(mainJs, {
      NODE_ENV: 'production',
      MONGODB_URI: process.env.MONGODB_URI,
      MONGODB_DB_NAME: uniqueDbName('shutdown'),
      ACCESS_TOKEN_SECRET: randomSecret(),
      REFRESH_TOKEN_SECRET: randomSecret(),
      HOST: '127.0.0.1',
      PORT: String(port),
      AUTH_RATE_LIMIT: '0',
      LOGIN_MAX_FAILURES: '1000',
    });
    try {
      await server.waitForOutput(/Listening on/);
      const username = `shutdown_${Date.now()}`;
      expect(await post(port, '/api/auth/register', { username, password: PASSWORD })).toBe(201);

      // 24 logins: each is an argon2 verification on a 4-thread pool, so they are still running
      // (queued or hashing) when the signal arrives a moment after they were sent.
      const inFlight = Array.from({ length: 24 }, () =>
        post(port, '/api/auth/login', { username, password: PASSWORD }),
      );
      await new Promise((r) => setTimeout(r, 50));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');

      const statuses = await Promise.all(inFlight);
      expect(statuses).toEqual(Array(24).fill(200));

      const code = await server.exited;
      expect(code).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      await expect(post(port, '/api/auth/login', { username, password: PASSWORD })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
