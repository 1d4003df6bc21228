import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';
import { cookiesOf, jwtPayload, setCookieHeaders, uniqueUsername, bearer } from '../support/http';
import { accessClaims, HS256_HEADER, signJwt } from '../support/jwt-forge';

/**
 * Security logging. Sources: OWASP Logging Cheat Sheet (what to log: authentication successes and
 * failures, session events; what never to log: passwords, session ids/tokens, secrets), OWASP
 * Application Logging Vocabulary Cheat Sheet (authn_login_success, authn_login_fail,
 * authn_token_reuse, ...), ASVS 4.0 V7.1.1 (no credentials or tokens in logs), V7.1.2 (no other
 * sensitive data), V7.1.3 (security events logged), V7.1.4 (enough context to investigate), V7.3.1
 * (log injection prevented).
 * The app writes JSON lines to LOG_FILE at LOG_LEVEL=info while one scenario runs every audited event;
 * the file is then read back: every line JSON, the request id of every response on its lines, user
 * and session on the lines of authenticated requests, one audit line per event, and no secret at all.
 */

jest.setTimeout(90_000);

type Line = Record<string, unknown>;
interface Sent {
  what: string;
  requestId: string;
  status?: number;
  /** The caller, for requests authenticated by a token. */
  caller?: { userId: string; sessionId: string };
}

/** Every value of a property named `key`, at any depth. */
function valuesOf(value: unknown, key: string, found: unknown[] = []): unknown[] {
  if (value === null || typeof value !== 'object') return found;
  for (const [name, inner] of Object.entries(value)) {
    if (name === key) found.push(inner);
    valuesOf(inner, key, found);
  }
  return found;
}
const holdsString = (value: unknown, wanted: string): boolean =>
  typeof value === 'string'
    ? value === wanted
    : value !== null && typeof value === 'object' && Object.values(value).some((inner) => holdsString(inner, wanted));

describe('security: structured logs, audit lines and redaction (OWASP Logging Cheat Sheet, ASVS 4.0 V7.1.1-V7.1.4)', () => {
  let dir: string;
  let logFile: string;
  let t: TestApp;
  let text = '';
  let lines: Line[] = [];
  let unparsable: string[] = [];
  const sent: Sent[] = [];
  const early: Sent[] = [];
  const secrets = new Map<string, string>();
  const audits: Array<{ event: string; requestId: string; userId?: string; sessionId?: string }> = [];

  const PASSWORD_1 = `first pass ${randomBytes(6).toString('hex')}`;
  const PASSWORD_2 = `second pass ${randomBytes(6).toString('hex')}`;
  const WRONG = `wrong guess ${randomBytes(6).toString('hex')}`;

  const keep = (label: string, value: string | undefined) => value && secrets.set(label, value);
  function keepTokens(label: string, res: Awaited<Test>) {
    keep(`${label} body accessToken`, res.body?.accessToken);
    keep(`${label} body refreshToken`, res.body?.refreshToken);
    for (const [name, value] of Object.entries(cookiesOf(setCookieHeaders(res))))
      if (value) keep(`${label} Set-Cookie ${name}`, value);
  }
  async function call(what: string, req: Test, status: number, caller?: Sent['caller']): Promise<Awaited<Test>> {
    const res = await req;
    expect({ what, status: res.status }).toEqual({ what, status });
    sent.push({ what, requestId: String(res.headers['x-request-id']), status: res.status, caller });
    keepTokens(what, res);
    return res;
  }
  const sidOf = (accessToken: string) => jwtPayload(accessToken).sid as string;
  async function loginAs(username: string, password: string, what = 'login') {
    const res = await call(what, t.http().post('/api/auth/login').send({ username, password }), 200);
    const session = { accessToken: res.body.accessToken as string, refreshToken: res.body.refreshToken as string };
    audits.push({ event: 'login_succeeded', requestId: sent.at(-1)!.requestId, sessionId: sidOf(session.accessToken) });
    return { ...session, sessionId: sidOf(session.accessToken) };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slj-seclog-'));
    logFile = join(dir, 'app.log');
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOG_FILE: logFile, LOG_LEVEL: 'info' }, 'seclogging');
    keep('ACCESS_TOKEN_SECRET', t.secrets.access);
    keep('REFRESH_TOKEN_SECRET', t.secrets.refresh);
    for (const [label, value] of [
      ['password 1', PASSWORD_1],
      ['password 2', PASSWORD_2],
      ['wrong password', WRONG],
    ])
      keep(label, value);
    const username = uniqueUsername('logged');
    const http = () => t.http();

    const registered = await call(
      'register',
      http().post('/api/auth/register').send({ username, password: PASSWORD_1 }),
      201,
    );
    const userId = registered.body.id as string;
    const s1 = await loginAs(username, PASSWORD_1);
    const me = (sessionId: string) => ({ userId, sessionId });

    await call('failed login, existing user', http().post('/api/auth/login').send({ username, password: WRONG }), 401);
    audits.push({ event: 'login_failed', requestId: sent.at(-1)!.requestId });
    await call(
      'failed login, unknown user',
      http()
        .post('/api/auth/login')
        .send({ username: uniqueUsername('ghost'), password: WRONG }),
      401,
    );
    audits.push({ event: 'login_failed', requestId: sent.at(-1)!.requestId });

    await call(
      'me with Bearer',
      http().get('/api/users/me').set('Authorization', bearer(s1.accessToken)),
      200,
      me(s1.sessionId),
    );
    const cookie = `accessToken=${s1.accessToken}; refreshToken=${s1.refreshToken}`;
    keep('raw Cookie header', cookie);
    await call('me with cookie', http().get('/api/users/me').set('Cookie', cookie), 200, me(s1.sessionId));
    await call(
      'me with header and cookie',
      http().get('/api/users/me').set('Authorization', bearer(s1.accessToken)).set('Cookie', cookie),
      200,
      me(s1.sessionId),
    );
    const forged = signJwt(HS256_HEADER, accessClaims(userId, s1.sessionId), 'secret');
    keep('forged token', forged);
    await call('me with a forged token', http().get('/api/users/me').set('Authorization', bearer(forged)), 401);
    await call('token in the query string', http().get(`/api/users/me?access_token=${s1.accessToken}`), 401);

    const bodyRefresh = await call(
      'refresh from the body',
      http().post('/api/auth/refresh').send({ refreshToken: s1.refreshToken }),
      200,
    );
    const cookieRefreshValue = `refreshToken=${bodyRefresh.body.refreshToken}`;
    keep('raw refresh Cookie header', cookieRefreshValue);
    await call('refresh from the cookie', http().post('/api/auth/refresh').set('Cookie', cookieRefreshValue), 200);
    await call(
      'reuse of a superseded refresh token',
      http().post('/api/auth/refresh').send({ refreshToken: s1.refreshToken }),
      401,
    );
    audits.push({
      event: 'refresh_reuse_detected',
      requestId: sent.at(-1)!.requestId,
      userId,
      sessionId: s1.sessionId,
    });

    const s2 = await loginAs(username, PASSWORD_1);
    await call(
      'logout',
      http().post('/api/auth/logout').set('Authorization', bearer(s2.accessToken)),
      200,
      me(s2.sessionId),
    );
    audits.push({ event: 'logout', requestId: sent.at(-1)!.requestId, userId, sessionId: s2.sessionId });

    const s3 = await loginAs(username, PASSWORD_1);
    await loginAs(username, PASSWORD_1);
    const s3Cookie = `accessToken=${s3.accessToken}`;
    keep('raw logout-all Cookie header', s3Cookie);
    await call(
      'logout-all with the cookie',
      http().post('/api/auth/logout-all').set('Cookie', s3Cookie),
      200,
      me(s3.sessionId),
    );
    audits.push({ event: 'logout_all', requestId: sent.at(-1)!.requestId, userId, sessionId: s3.sessionId });

    const s5 = await loginAs(username, PASSWORD_1);
    await call(
      'password change',
      http()
        .patch('/api/users/me/password')
        .set('Authorization', bearer(s5.accessToken))
        .send({ currentPassword: PASSWORD_1, newPassword: PASSWORD_2 }),
      204,
      me(s5.sessionId),
    );
    audits.push({ event: 'password_changed', requestId: sent.at(-1)!.requestId, userId, sessionId: s5.sessionId });

    const s6 = await loginAs(username, PASSWORD_2, 'login after the password change');
    await call(
      'sessions with a client request id',
      http()
        .get('/api/auth/sessions')
        .set('Authorization', bearer(s6.accessToken))
        .set('X-Request-Id', 'client-trace-42'),
      200,
      me(s6.sessionId),
    );
    for (const audit of audits) if (audit.event === 'login_succeeded') audit.userId = userId;

    // Refused before any route runs (body parser, content-type check): still traced.
    const refusedEarly: Array<[string, Test]> = [
      [
        'malformed JSON',
        http().post('/api/auth/login').set('Content-Type', 'application/json').send(`{"password":"${PASSWORD_1}",`),
      ],
      [
        '413',
        http()
          .post('/api/auth/login')
          .send({ username, password: `${PASSWORD_1}${'p'.repeat(101 * 1024)}` }),
      ],
      ['415', http().post('/api/auth/login').set('Content-Type', 'text/plain').send(`password=${PASSWORD_1}`)],
    ];
    for (const [what, req] of refusedEarly) {
      const res = await req;
      early.push({ what, requestId: String(res.headers['x-request-id'] ?? '') });
    }

    await t.close();
    text = await readFile(logFile, 'utf8').catch(() => '');
    const raw = text.split('\n').filter((line) => line.trim() !== '');
    unparsable = raw.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    lines = raw.filter((line) => !unparsable.includes(line)).map((line) => JSON.parse(line) as Line);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const linesOf = (requestId: string) => lines.filter((line) => holdsString(line, requestId));

  it('LOG_FILE receives the log, and every line is one JSON object', () => {
    expect(lines.length).toBeGreaterThan(sent.length);
    expect(unparsable).toEqual([]);
  });

  it('every response carried an X-Request-Id, and that id is on a log line of its request (ASVS 4.0 V7.1.4)', () => {
    const missing = sent
      .filter((s) => !/^[A-Za-z0-9._-]{1,64}$/.test(s.requestId) || linesOf(s.requestId).length === 0)
      .map((s) => s.what);
    expect(missing).toEqual([]);
    expect(sent.find((s) => s.what === 'sessions with a client request id')?.requestId).toBe('client-trace-42');
  });

  it('each request has one access line with its id, method, path, client address and status', () => {
    const wrong = sent
      .filter((s) => s.status !== undefined)
      .filter((s) => {
        const access = lines.filter(
          (line) => line.msg === 'request completed' && (line.req as { id?: string } | undefined)?.id === s.requestId,
        );
        const req = access[0]?.req as { method?: string; url?: string; remoteAddress?: string } | undefined;
        return (
          access.length !== 1 ||
          (access[0].res as { statusCode?: number } | undefined)?.statusCode !== s.status ||
          !req?.method ||
          !req.url?.startsWith('/') ||
          !req.remoteAddress
        );
      })
      .map((s) => s.what);
    expect(wrong).toEqual([]);
  });

  it('requests refused before routing (malformed JSON, 413, 415) also get an X-Request-Id that is on a log line', () => {
    const missing = early
      .filter((s) => !/^[A-Za-z0-9._-]{1,64}$/.test(s.requestId) || linesOf(s.requestId).length === 0)
      .map((s) => s.what);
    expect(missing).toEqual([]);
  });

  it('a line of every authenticated request names its userId and sessionId', () => {
    const missing = sent
      .filter((s) => s.caller)
      .filter(
        (s) =>
          !linesOf(s.requestId).some(
            (line) =>
              valuesOf(line, 'userId').includes(s.caller!.userId) &&
              valuesOf(line, 'sessionId').includes(s.caller!.sessionId),
          ),
      )
      .map((s) => s.what);
    expect(missing).toEqual([]);
  });

  it.each(['login_succeeded', 'login_failed', 'logout', 'logout_all', 'refresh_reuse_detected', 'password_changed'])(
    'an audit line {"audit":"%s"} for each such event, with its request id and the userId/sessionId where known (ASVS 4.0 V7.1.3)',
    (event) => {
      const expected = audits.filter((audit) => audit.event === event);
      expect(expected.length).toBeGreaterThan(0);
      const unmatched = expected.filter((audit) => {
        const candidates = lines.filter((line) => line.audit === event && holdsString(line, audit.requestId));
        return !candidates.some(
          (line) =>
            (audit.userId === undefined || valuesOf(line, 'userId').includes(audit.userId)) &&
            (audit.sessionId === undefined || valuesOf(line, 'sessionId').includes(audit.sessionId)),
        );
      });
      expect(unmatched).toEqual([]);
    },
  );

  it('no password, token, Cookie header value or signing secret appears anywhere in the file (ASVS 4.0 V7.1.1, OWASP Logging Cheat Sheet)', () => {
    expect(secrets.size).toBeGreaterThan(15);
    const leaked = [...secrets].filter(([, value]) => text.includes(value)).map(([label]) => label);
    // A JWT's signature alone is enough to replay nothing, but its presence means the token was logged.
    const signatures = [...secrets]
      .filter(([, value]) => value.split('.').length === 3)
      .filter(([, value]) => text.includes(value.split('.')[2]))
      .map(([label]) => `${label} (signature)`);
    expect([...leaked, ...signatures]).toEqual([]);
  });

  it('no line carries an Authorization or Cookie header value', () => {
    const offending = lines.filter((line) =>
      [...valuesOf(line, 'authorization'), ...valuesOf(line, 'cookie'), ...valuesOf(line, 'set-cookie')].some(
        (v) => typeof v === 'string' && !/redact/i.test(v),
      ),
    );
    expect(offending).toEqual([]);
  });
});

describe('security: LOG_LEVEL=silent turns logging off', () => {
  it('nothing is written to LOG_FILE, not even audit lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slj-seclog-silent-'));
    const logFile = join(dir, 'app.log');
    try {
      const t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOG_FILE: logFile, LOG_LEVEL: 'silent' }, 'seclogsilent');
      try {
        await t
          .http()
          .post('/api/auth/login')
          .send({ username: uniqueUsername('ghost'), password: 'wrong-password' })
          .expect(401);
        await t.http().get('/health/live').expect(200);
      } finally {
        await t.close();
      }
      const size = await stat(logFile).then(
        (s) => s.size,
        () => 0,
      );
      expect(size).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
