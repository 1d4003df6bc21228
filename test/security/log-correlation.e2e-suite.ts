import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app';
import { bearer, jwtPayload, login, PASSWORD, register, uniqueUsername, type LoggedIn } from '../support/http';

/**
 * Log lines under concurrency (OWASP Logging Cheat Sheet, "correlation"; ASVS 4.0 V7.1.4): while many
 * requests are served at once, every line written for a request carries that request's id and no
 * other. A burst of logins, failed logins, logouts and authenticated reads, each with its own
 * X-Request-Id, is sent at once; the log is then read back and every audit and access line is held
 * to the request its id names: the event it should record, the user and the session.
 */

jest.setTimeout(90_000);

type Line = Record<string, unknown> & { req?: { id?: string; method?: string; url?: string } };

interface Expected {
  method: string;
  url: string;
  status: number;
  /** The audit event this request must record exactly once, if any. */
  audit?: string;
  userId?: string;
  sessionId?: string;
}

const USERS = 4;
const ROUNDS = 6;

describe('security: log lines of concurrent requests carry their own request id', () => {
  let dir: string;
  let t: TestApp;
  let closed = false;
  let lines: Line[] = [];
  const expected = new Map<string, Expected>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slj-log-correlation-'));
    const logFile = join(dir, 'app.log');
    t = await createTestApp({ LOG_FILE: logFile, LOG_LEVEL: 'info', LOGIN_MAX_FAILURES: '1000' }, 'logcorrelation');
    const users = await Promise.all(
      Array.from({ length: USERS }, async () => {
        const { username, id } = await register(t, uniqueUsername('corr'));
        return { username, id };
      }),
    );
    // Sessions to log out and to read with, made before the burst.
    const sessions: Array<LoggedIn & { sessionId: string }> = [];
    for (const user of users)
      for (let round = 0; round < ROUNDS; round++) {
        const session = await login(t, user.username, PASSWORD, user.id);
        sessions.push({ ...session, sessionId: jwtPayload(session.accessToken).sid as string });
      }

    const burst: Array<Promise<void>> = [];
    const send = (id: string, want: Expected, request: () => Promise<{ status: number; body: unknown }>) => {
      expected.set(id, want);
      burst.push(
        request().then((res) => {
          expect({ id, status: res.status }).toEqual({ id, status: want.status });
          if (want.audit === 'login_succeeded') {
            want.sessionId = jwtPayload((res.body as { accessToken: string }).accessToken).sid as string;
          }
        }),
      );
    };
    sessions.forEach((session, n) => {
      const userId = session.userId;
      const { username } = users.find((user) => user.id === userId)!;
      const me = (id: string) =>
        send(id, { method: 'GET', url: '/api/users/me', status: 200, userId, sessionId: session.sessionId }, () =>
          t.http().get('/api/users/me').set('X-Request-Id', id).set('Authorization', bearer(session.accessToken)),
        );
      me(`corr-me-a-${n}`);
      const logIn = (id: string, password: string, status: number, audit: string) =>
        send(id, { method: 'POST', url: '/api/auth/login', status, audit, userId }, () =>
          t.http().post('/api/auth/login').set('X-Request-Id', id).send({ username, password }),
        );
      logIn(`corr-login-${n}`, PASSWORD, 200, 'login_succeeded');
      logIn(`corr-fail-${n}`, `a wrong password, number ${n}`, 401, 'login_failed');
      if (n % 2 === 0) {
        send(
          `corr-logout-${n}`,
          {
            method: 'POST',
            url: '/api/auth/logout',
            status: 200,
            audit: 'logout',
            userId,
            sessionId: session.sessionId,
          },
          () =>
            t
              .http()
              .post('/api/auth/logout')
              .set('X-Request-Id', `corr-logout-${n}`)
              .set('Authorization', bearer(session.accessToken)),
        );
      } else {
        me(`corr-me-b-${n}`);
      }
    });
    // Every request is answered (or the app closed) before the log is read; a failed one fails below.
    await Promise.allSettled(burst);
    await t.close();
    closed = true;
    const failed = (await Promise.allSettled(burst)).find((outcome) => outcome.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const text = await readFile(logFile, 'utf8');
    lines = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Line);
  });

  afterAll(async () => {
    if (!closed) await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ofBurst = (line: Line) => typeof line.req?.id === 'string' && line.req.id.startsWith('corr-');

  it('sent a burst large enough to interleave: every request answered as expected', () => {
    expect(expected.size).toBe(USERS * ROUNDS * 4);
  });

  it('each request has exactly one access line, with its own method, path, status, user and session', () => {
    const access = lines.filter((line) => line.msg === 'request completed' && ofBurst(line));
    const wrong: string[] = [];
    for (const [id, want] of expected) {
      const own = access.filter((line) => line.req?.id === id);
      const got = own.map((line) => ({
        method: line.req?.method,
        url: line.req?.url,
        status: (line.res as { statusCode?: number } | undefined)?.statusCode,
        userId: line.userId,
        sessionId: line.sessionId,
      }));
      const authenticated = want.url === '/api/users/me' || want.url === '/api/auth/logout';
      const wanted = {
        method: want.method,
        url: want.url,
        status: want.status,
        userId: authenticated ? want.userId : undefined,
        sessionId: authenticated ? want.sessionId : undefined,
      };
      if (got.length !== 1 || JSON.stringify(got[0]) !== JSON.stringify(wanted))
        wrong.push(`${id}: ${JSON.stringify(got)} instead of ${JSON.stringify(wanted)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('each audited request has exactly its own audit line: event, user and session of that request', () => {
    const audits = lines.filter((line) => typeof line.audit === 'string');
    const wrong: string[] = [];
    for (const [id, want] of expected) {
      const own = audits.filter((line) => line.req?.id === id);
      if (!want.audit) {
        if (own.length > 0) wrong.push(`${id}: unexpected ${JSON.stringify(own.map((line) => line.audit))}`);
        continue;
      }
      const got = own.map((line) => ({ audit: line.audit, userId: line.userId, sessionId: line.sessionId }));
      const wanted = {
        audit: want.audit,
        userId: want.userId,
        sessionId: want.audit === 'login_failed' ? undefined : want.sessionId,
      };
      if (got.length !== 1 || JSON.stringify(got[0]) !== JSON.stringify(wanted))
        wrong.push(`${id}: ${JSON.stringify(got)} instead of ${JSON.stringify(wanted)}`);
    }
    expect(wrong).toEqual([]);
    // No audit line was written outside a request.
    expect(audits.filter((line) => line.req?.id === undefined)).toEqual([]);
  });
});
