import { execSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createTestApp, type TestApp } from '../support/test-app';
import { PASSWORD, registerAndLogin, listenOnV4, send, type Reply } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { expectNoLeak, probeLiveness, timed } from './support/attack-kit';

/**
 * Resource exhaustion. Sources: OWASP Denial of Service Cheat Sheet, OWASP REST Security Cheat Sheet
 * ("Input validation": request size limits), OWASP API Security Top 10 API4:2023 (unrestricted resource
 * consumption), ASVS 4.0 V12.1.1 (large inputs refused), V11.1.4 (anti-automation against denial of
 * service), CWE-400 (resource consumption), CWE-674 (uncontrolled recursion).
 * Properties: bodies over 100 kB are 413; deep nesting and huge arrays are 400, fast, never 5xx, and
 * the event loop keeps answering /health/live meanwhile; slow connections (slowloris, slow body) do
 * not take the process down and are closed by the server itself within its timeouts.
 */

jest.setTimeout(90_000);

/** "Quickly": far more than a 400 needs, far less than a stalled event loop would take. */
const FAST_MS = 5000;
/** The app's REQUEST_TIMEOUT here (10 s by default): slow connections must be closed after it. */
const REQUEST_TIMEOUT_MS = 4000;
const SLOW_CLOSE_WAIT_MS = 5 * REQUEST_TIMEOUT_MS;

describe('security: resource limits (OWASP Denial of Service Cheat Sheet, API4:2023, CWE-400)', () => {
  let t: TestApp;
  let base: string;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp(
      { AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000', REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms` },
      'seclimits',
    );
    base = await listenOnV4(t);
    port = Number(new URL(base).port);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A body as a chunked stream (no Content-Length), so the limit must be enforced while reading. */
  function sendChunked(path: string, chunk: string, chunks: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        timeout: 15_000,
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (text += part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: safeJson(text) }));
      });
      req.on('timeout', () => req.destroy(new Error('chunked request timed out')));
      req.on('error', reject);
      req.write('{"username":"abc","password":"');
      for (let i = 0; i < chunks && !req.destroyed; i++) req.write(chunk);
      req.end('"}');
    });
  }

  describe('bodies over 100 kB: 413 (OWASP REST Security Cheat Sheet, ASVS 4.0 V12.1.1)', () => {
    it.each(['/api/auth/login', '/api/auth/register', '/api/auth/refresh'])(
      'a 101 kB JSON body to %s: 413 JSON error',
      async (path) => {
        const res = await send(base, 'POST', path, { json: { username: 'abc', password: 'p'.repeat(101 * 1024) } });
        expectNoLeak(res);
        expectErrorBody(res, 413);
      },
    );

    it('a 1 MB body sent chunked, without Content-Length: 413 JSON error', async () => {
      const res = await sendChunked('/api/auth/login', 'p'.repeat(16 * 1024), 64);
      expectNoLeak(res);
      expectErrorBody(res, 413);
    });
  });

  /** Sends the attack and, while it is in flight, 10 liveness probes: the event loop must not stall. */
  async function expectFastRejectionWhileLive(raw: string, path = '/api/auth/login'): Promise<void> {
    expect(Buffer.byteLength(raw)).toBeLessThan(100 * 1024);
    const attack = timed(() => send(base, 'POST', path, { raw, headers: { 'content-type': 'application/json' } }));
    const probes = probeLiveness(base, 10);
    const [{ ms, result }, statuses] = await Promise.all([attack, probes]);
    expectNoLeak(result);
    expectErrorBody(result, 400);
    expect({ ms, fast: ms < FAST_MS }).toEqual({ ms, fast: true });
    expect(statuses).toEqual(Array(10).fill(200));
  }

  const nestedObject = (depth: number, leaf = '"x"') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
  const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  describe('deep nesting: 400 quickly, /health/live answers meanwhile (CWE-674, OWASP Denial of Service Cheat Sheet)', () => {
    it('5,000 levels of {"a":...} inside the username: 400', async () => {
      await expectFastRejectionWhileLive(`{"username":${nestedObject(5000)},"password":"${PASSWORD}"}`);
    });

    it('5,000 levels of [[[...]]] inside the username: 400', async () => {
      await expectFastRejectionWhileLive(`{"username":${nestedArray(5000)},"password":"${PASSWORD}"}`);
    });

    it('45,000 levels of [[[...]]] inside the password (just under 100 kB): 400', async () => {
      await expectFastRejectionWhileLive(`{"username":"abc","password":${nestedArray(45_000)}}`);
    });

    it('the whole body 10,000 levels deep: 400', async () => {
      await expectFastRejectionWhileLive(nestedObject(10_000, `{"username":"abc","password":"${PASSWORD}"}`));
    });

    it('5,000 levels inside the refresh token: 400', async () => {
      await expectFastRejectionWhileLive(`{"refreshToken":${nestedObject(5000)}}`, '/api/auth/refresh');
    });
  });

  describe('huge arrays and objects: 400 quickly, /health/live answers meanwhile (OWASP API4:2023)', () => {
    it('a 20,000-element array as the username: 400', async () => {
      await expectFastRejectionWhileLive(
        `{"username":[${Array(20_000).fill('1').join(',')}],"password":"${PASSWORD}"}`,
      );
    });

    it('a 20,000-element array of strings as the password: 400', async () => {
      await expectFastRejectionWhileLive(`{"username":"abc","password":[${Array(20_000).fill('"x"').join(',')}]}`);
    });

    it('a 20,000-element array of objects as the whole body: 400', async () => {
      await expectFastRejectionWhileLive(`[${Array(20_000).fill('{}').join(',')}]`);
    });

    it('an object with 8,000 unknown keys: 400, and the error body is not larger than the attack (no amplification)', async () => {
      const raw = `{${Array.from({ length: 8000 }, (_, i) => `"k${i}":1`).join(',')}}`;
      await expectFastRejectionWhileLive(raw);
      const res = await send(base, 'POST', '/api/auth/login', { raw, headers: { 'content-type': 'application/json' } });
      expect(Buffer.byteLength(res.text)).toBeLessThan(Buffer.byteLength(raw));
    });
  });

  describe('slow connections (slowloris, slow body; OWASP Denial of Service Cheat Sheet)', () => {
    const sockets: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    afterAll(() => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    });

    /** How many sockets fit: 1,000 unless the file limit is too low for those plus the app's own. */
    function socketBudget(wanted: number): number {
      const limit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim());
      // Below ~2,200 descriptors, lower the count to what fits with 200 to spare rather than skip the
      // attack. The app runs in this process, so each loopback connection costs two descriptors here
      // (the client end and the server end): hence the halving.
      if (!Number.isFinite(limit) || limit >= 2200) return wanted;
      return Math.max(50, Math.min(wanted, Math.floor((limit - 200) / 2)));
    }

    /** Opens `count` loopback connections in batches, each sending `preamble`, then `drip` every second. */
    async function openSlowConnections(count: number, preamble: string, drip: string) {
      const closed = new Set<Socket>();
      const mine: Socket[] = [];
      for (let start = 0; start < count; start += 100) {
        const batch = Array.from({ length: Math.min(100, count - start) }, () => {
          const socket = connect({ host: '127.0.0.1', port });
          sockets.push(socket);
          mine.push(socket);
          socket.on('error', () => undefined);
          socket.on('data', () => undefined);
          socket.once('close', () => closed.add(socket));
          return new Promise<void>((resolve) => {
            socket.once('connect', () => (socket.write(preamble), resolve()));
            socket.once('close', () => resolve());
          });
        });
        await Promise.all(batch);
      }
      const timer = setInterval(() => {
        for (const socket of mine) if (!socket.destroyed && socket.writable) socket.write(drip);
      }, 1000);
      timers.push(timer);
      return { closed, mine, stop: () => clearInterval(timer) };
    }

    async function waitUntilAllClosed(closed: Set<Socket>, total: number): Promise<number> {
      const started = Date.now();
      while (closed.size < total && Date.now() - started < SLOW_CLOSE_WAIT_MS)
        await new Promise((r) => setTimeout(r, 250));
      return Date.now() - started;
    }

    it('1,000 slowloris connections (headers, one byte a second): /health/live still 200, the server closes them all within its timeouts', async () => {
      const count = socketBudget(1000);
      const slow = await openSlowConnections(
        count,
        'POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
        'a',
      );
      const openedAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      expect({ stillOpen: count - slow.closed.size }).toEqual({ stillOpen: count });
      expect(await probeLiveness(base, 10)).toEqual(Array(10).fill(200));
      expect((await send(base, 'GET', '/api/users/me')).status).toBe(401);

      const waited = await waitUntilAllClosed(slow.closed, count);
      slow.stop();
      expect({
        closedByServer: slow.closed.size,
        count,
        secondsSinceOpen: Math.round((Date.now() - openedAt) / 1000),
      }).toEqual({
        closedByServer: count,
        count,
        secondsSinceOpen: expect.any(Number),
      });
      expect(waited).toBeLessThan(SLOW_CLOSE_WAIT_MS + 1000);
      expect(await probeLiveness(base, 10)).toEqual(Array(10).fill(200));
    });

    it('100 slow-body connections (full headers, Content-Length 1000, one byte a second): the server closes them within its timeouts', async () => {
      const count = socketBudget(100);
      const headers =
        'POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{';
      const slow = await openSlowConnections(count, headers, ' ');
      expect(await probeLiveness(base, 10)).toEqual(Array(10).fill(200));
      await waitUntilAllClosed(slow.closed, count);
      slow.stop();
      expect({ closedByServer: slow.closed.size }).toEqual({ closedByServer: count });
    });

    it('control: after the slow connections, a real login still works', async () => {
      const user = await registerAndLogin(t);
      expect(user.accessToken).toEqual(expect.any(String));
    });
  });
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
