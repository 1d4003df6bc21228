import type { Test } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';
import { PASSWORD, registerAndLogin, type LoggedIn, bearer } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { countOf, expectNoLeak } from './support/attack-kit';

/**
 * Malformed HTTP. Sources: OWASP REST Security Cheat Sheet ("Validate content types": 415 for an
 * unexpected Content-Type; "HTTP methods": 405 for a method not on the allow list; "Error handling"),
 * OWASP Error Handling Cheat Sheet (no framework pages, no stack traces), ASVS 4.0 V13.1.5 (Content-Type
 * checked), V14.5.1 (only the intended HTTP methods), V7.4.1 (generic error messages).
 * Property: every answer is JSON {statusCode, message, error}; never Express's HTML page, never a
 * parser's SyntaxError text; a wrong Content-Type changes nothing.
 */

jest.setTimeout(60_000);

describe('security: malformed requests (OWASP REST Security Cheat Sheet, OWASP Error Handling Cheat Sheet)', () => {
  let t: TestApp;
  let user: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000' }, 'secmalformed');
    user = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The contract's error body, no leak, and never HTML. */
  function expectJsonError(res: Awaited<Test>, status: number): void {
    expectNoLeak(res);
    expectErrorBody(res, status);
    expect(res.headers['content-type']).not.toMatch(/html/);
  }

  describe('broken JSON: 400 without the parser speaking (ASVS 4.0 V7.4.1)', () => {
    it.each([
      ['a truncated object', `{"username":"${'a'.repeat(5)}","password":`],
      ['a trailing comma', `{"username":"alice","password":"${PASSWORD}",}`],
      ['single quotes', `{'username':'alice','password':'${PASSWORD}'}`],
      ['an unquoted key', `{username:"alice"}`],
      ['a stray closing brace', `{"username":"alice"}}`],
      ['NaN as a value', `{"username":NaN}`],
      ['a comment', `{"username":"alice" /* hi */}`],
      ['a bare string (strict JSON bodies are objects or arrays)', `"alice"`],
      ['a bare number', `12345`],
      ['an invalid escape', `{"username":"\\x41lice"}`],
      ['a lone surrogate escape', `{"username":"\\ud800","password":"${PASSWORD}"}`],
      ['binary garbage', '\u0000\u0001\u0002\u00ff'],
    ])('%s: 400 JSON error', async (_name, raw) => {
      const res = await t.http().post('/api/auth/login').set('Content-Type', 'application/json').send(raw);
      expectJsonError(res, 400);
    });

    it('an empty body declared as JSON on login: 400 (validation), no session', async () => {
      const before = await countOf(t, 'sessions');
      const res = await t.http().post('/api/auth/login').set('Content-Type', 'application/json').send('');
      expectJsonError(res, 400);
      expect(await countOf(t, 'sessions')).toBe(before);
    });
  });

  describe('wrong Content-Type on state-changing routes: 415 (OWASP REST Security Cheat Sheet "Validate content types", ASVS 4.0 V13.1.5)', () => {
    const bodies: Array<[string, string, string]> = [
      ['text/plain', 'text/plain', JSON.stringify({ username: 'alice_x', password: PASSWORD })],
      [
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded',
        `username=alice_x&password=${encodeURIComponent(PASSWORD)}`,
      ],
      [
        'multipart/form-data',
        'multipart/form-data; boundary=XyZ',
        `--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice_x\r\n--XyZ--\r\n`,
      ],
      ['application/xml', 'application/xml', '<credentials><username>alice_x</username></credentials>'],
    ];

    it.each(bodies)('POST /api/auth/register with a %s body: 415, nobody created', async (_name, type, raw) => {
      const before = await countOf(t, 'users');
      expectJsonError(await t.http().post('/api/auth/register').set('Content-Type', type).send(raw), 415);
      expect(await countOf(t, 'users')).toBe(before);
    });

    it.each(bodies)('POST /api/auth/login with a %s body: 415, no session', async (_name, type, raw) => {
      const before = await countOf(t, 'sessions');
      expectJsonError(await t.http().post('/api/auth/login').set('Content-Type', type).send(raw), 415);
      expect(await countOf(t, 'sessions')).toBe(before);
    });

    it.each(bodies)('POST /api/auth/refresh with a %s body: 415', async (_name, type) => {
      expectJsonError(
        await t.http().post('/api/auth/refresh').set('Content-Type', type).send(`refreshToken=${user.refreshToken}`),
        415,
      );
    });

    it.each(bodies)(
      'PATCH /api/users/me/password with a %s body (Bearer): 415, the password unchanged',
      async (_name, type) => {
        const victim = await registerAndLogin(t);
        const res = await t
          .http()
          .patch('/api/users/me/password')
          .set('Authorization', bearer(victim.accessToken))
          .set('Content-Type', type)
          .send(`currentPassword=${encodeURIComponent(PASSWORD)}&newPassword=attacker-chose-this`);
        expectJsonError(res, 415);
        expect(
          (await t.http().post('/api/auth/login').send({ username: victim.username, password: PASSWORD })).status,
        ).toBe(200);
      },
    );

    it('POST /api/auth/logout with a text/plain body (the classic CSRF "simple request"): 415, the session alive', async () => {
      const victim = await registerAndLogin(t);
      const res = await t
        .http()
        .post('/api/auth/logout')
        .set('Authorization', bearer(victim.accessToken))
        .set('Content-Type', 'text/plain')
        .send('x');
      expectJsonError(res, 415);
      expect((await t.http().get('/api/users/me').set('Authorization', bearer(victim.accessToken))).status).toBe(200);
    });

    it('a body without any Content-Type: 415', async () => {
      const res = await t.http().post('/api/auth/login').set('Content-Length', '2').send(Buffer.from('{}'));
      expectJsonError(res, 415);
    });

    it('application/json with a charset JSON does not allow (iso-8859-1): 415', async () => {
      const res = await t
        .http()
        .post('/api/auth/login')
        .set('Content-Type', 'application/json; charset=iso-8859-1')
        .send('{}');
      expectJsonError(res, 415);
    });

    it('application/json; charset=utf-16 with UTF-8 bytes (mis-decoded): 400 or 415 JSON error', async () => {
      const res = await t
        .http()
        .post('/api/auth/login')
        .set('Content-Type', 'application/json; charset=utf-16')
        .send('{}');
      expectNoLeak(res);
      expect([400, 415]).toContain(res.status);
      expectErrorBody(res, res.status);
    });

    it('control: a bodiless POST /api/auth/logout (no Content-Type) is not 415', async () => {
      const victim = await registerAndLogin(t);
      expect((await t.http().post('/api/auth/logout').set('Authorization', bearer(victim.accessToken))).status).toBe(
        200,
      );
    });
  });

  describe('unknown routes: 404 JSON, not an HTML page', () => {
    it.each([
      ['GET', '/api/nope'],
      ['POST', '/api/auth/nope'],
      ['DELETE', '/nope'],
      ['GET', '/api/auth/login/extra'],
      ['GET', '/api/users/me/password/x'],
      ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
      ['GET', '/api/..%2f..%2fetc%2fpasswd'],
      ['GET', '/.env'],
    ])('%s %s: 404', async (method, path) => {
      const res = await t.http()[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expectJsonError(res, 404);
    });

    it('a malformed percent-encoding in a path parameter: 400 or 404 JSON, not an HTML page', async () => {
      const res = await t.http().delete('/api/auth/sessions/%E0%A4%A').set('Authorization', bearer(user.accessToken));
      expectNoLeak(res);
      expect([400, 404]).toContain(res.status);
      expectErrorBody(res, res.status);
    });
  });

  describe('unknown methods on known paths: 405 with Allow (OWASP REST Security Cheat Sheet "HTTP methods", ASVS 4.0 V14.5.1)', () => {
    it.each([
      ['GET', '/api/auth/login', ['POST']],
      ['PUT', '/api/auth/login', ['POST']],
      ['GET', '/api/auth/register', ['POST']],
      ['DELETE', '/api/auth/refresh', ['POST']],
      ['GET', '/api/auth/logout', ['POST']],
      ['PUT', '/api/users/me', ['DELETE', 'GET']],
      ['POST', '/api/users/me', ['DELETE', 'GET']],
      ['PATCH', '/api/users/me', ['DELETE', 'GET']],
      ['GET', '/api/users/me/password', ['PATCH']],
      ['POST', '/health/live', ['GET']],
    ])('%s %s: 405 with an Allow header naming %j', async (method, path, allowed) => {
      const res = await t
        .http()
        [method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](path)
        .set('Authorization', bearer(user.accessToken));
      expectJsonError(res, 405);
      const allow = String(res.headers.allow ?? '')
        .split(',')
        .map((m) => m.trim().toUpperCase())
        .filter((m) => m !== '' && m !== 'HEAD' && m !== 'OPTIONS');
      expect(allow.sort()).toEqual([...allowed].sort());
    });

    it('TRACE on a known path (cross-site tracing): 405, and the request headers are not echoed', async () => {
      const res = await t
        .http()
        .trace('/api/users/me')
        .set('Authorization', bearer(user.accessToken))
        .set('Cookie', `accessToken=${user.accessToken}`);
      expectJsonError(res, 405);
      expect(res.text).not.toContain(user.accessToken);
    });

    it('a 405 does not run the handler: GET /api/auth/logout leaves the session alive', async () => {
      const victim = await registerAndLogin(t);
      await t.http().get('/api/auth/logout').set('Authorization', bearer(victim.accessToken));
      expect((await t.http().get('/api/users/me').set('Authorization', bearer(victim.accessToken))).status).toBe(200);
    });
  });
});
