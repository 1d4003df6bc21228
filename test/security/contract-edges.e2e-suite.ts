import { STATUS_CODES } from 'node:http';
import type { Response, Test } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';
import { PASSWORD, registerAndLogin, setCookieHeaders, type LoggedIn, bearer, listenOnV4 } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { expectNoLeak, expectNoTokenIssued, UNAUTHORIZED, UUID } from './support/attack-kit';
import { headerOf, rawRequest, type RawReply } from './support/raw-http';

/**
 * The contract at its edges, on either adapter: cookie values are plain strings, and every response,
 * whoever writes it (the application, the router, a CORS plugin, Node.js's HTTP parser), carries the
 * contract's headers and, for an error, its JSON body. Sources: OWASP HTTP Security Response Headers
 * Cheat Sheet, ASVS 4.0 V14.4.4 (nosniff on every response), V7.1.3 (requests traceable), OWASP Error
 * Handling Cheat Sheet and ASVS 4.0 V7.4.1 (no framework text, no input echoed: CWE-209), OWASP
 * Injection Prevention Cheat Sheet (cookie-parser's `j:` JSON as an injection path), RFC 6585 section 5
 * (431), RFC 9112 section 6.1 (Content-Length with Transfer-Encoding is refused: request smuggling),
 * RFC 9110 section 10.1.1 (Expect).
 */

jest.setTimeout(60_000);

/**
 * nosniff, no X-Powered-By, a server X-Request-Id; for an error, the contract's JSON without echo (its
 * body unless the label names a HEAD request, which has none).
 */
function expectContractResponse(res: Response, status: number, label: string): void {
  expect({ label, status: res.status }).toEqual({ label, status });
  expect({ label, nosniff: res.headers['x-content-type-options'] }).toEqual({ label, nosniff: 'nosniff' });
  expect({ label, poweredBy: res.headers['x-powered-by'] }).toEqual({ label, poweredBy: undefined });
  expect({ label, requestId: res.headers['x-request-id'] }).toEqual({ label, requestId: expect.stringMatching(UUID) });
  if (status >= 400) {
    expect({ label, type: res.headers['content-type'] }).toEqual({
      label,
      type: expect.stringMatching(/^application\/json/),
    });
    if (!label.startsWith('HEAD')) {
      expectErrorBody(res, status);
      expect({ label, error: (res.body as { error: unknown }).error }).toEqual({ label, error: STATUS_CODES[status] });
    }
  }
  expectNoLeak({ status: res.status, text: res.text ?? '' }, label);
}

function expectRawContractError(res: RawReply, status: number): void {
  expect(res.status).toBe(status);
  expect(headerOf(res, 'x-content-type-options')).toBe('nosniff');
  expect(res.headers['x-powered-by']).toBeUndefined();
  expect(headerOf(res, 'x-request-id')).toMatch(UUID);
  expect(headerOf(res, 'content-type')).toMatch(/^application\/json/);
  expect(headerOf(res, 'connection')).toBe('close');
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'statusCode']);
  expect(body).toMatchObject({ statusCode: status, error: STATUS_CODES[status], message: expect.any(String) });
}

describe('security: cookie values are plain strings, never cookie-parser JSON (OWASP Injection Prevention Cheat Sheet)', () => {
  let t: TestApp;
  let user: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'secedgecookie');
    user = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['j%3A"<genuine token>" (decoded to j:"…", then JSON)', (token: string) => `j%3A"${token}"`],
    ['j%3A%22<genuine token>%22', (token: string) => `j%3A%22${token}%22`],
    ['j:"<genuine token>"', (token: string) => `j:"${token}"`],
    ['j%3A["<genuine token>"]', (token: string) => `j%3A["${token}"]`],
    ['j:{"$ne":null}', () => 'j:{"$ne":null}'],
    ['j%3A%7B%22%24ne%22%3Anull%7D (the same, percent-encoded)', () => 'j%3A%7B%22%24ne%22%3Anull%7D'],
  ])('accessToken=%s is a presented, invalid token: 401 invalid_token', async (_name, value) => {
    const res = await t
      .http()
      .get('/api/users/me')
      .set('Cookie', `accessToken=${value(user.accessToken)}`);
    expectNoLeak(res);
    expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it.each([
    ['j%3A"<genuine token>"', (token: string) => `j%3A"${token}"`],
    ['j%3A%7B%22%24ne%22%3Anull%7D', () => 'j%3A%7B%22%24ne%22%3Anull%7D'],
  ])('refreshToken=%s refreshes nothing (401), and the genuine token still does', async (_name, value) => {
    const own = await registerAndLogin(t);
    const res = await t
      .http()
      .post('/api/auth/refresh')
      .set('Cookie', `refreshToken=${value(own.refreshToken)}`);
    expectNoLeak(res);
    expectErrorBody(res, 401);
    expectNoTokenIssued(res);
    expect(setCookieHeaders(res)).toEqual([]);
    expect((await t.http().post('/api/auth/refresh').send({ refreshToken: own.refreshToken })).status).toBe(200);
  });

  it('control: accessToken=<genuine token> authenticates (200)', async () => {
    expect((await t.http().get('/api/users/me').set('Cookie', `accessToken=${user.accessToken}`)).status).toBe(200);
  });
});

describe('security: every response carries the contract headers and error body (OWASP HTTP Security Response Headers and Error Handling cheat sheets, ASVS 4.0 V14.4.4, V7.4.1)', () => {
  let t: TestApp;
  let user: LoggedIn;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000' }, 'secedgeheaders');
    user = await registerAndLogin(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const requests: Array<[string, number, () => Test]> = [
    [
      'GET with a malformed percent-escape in a path parameter',
      400,
      () => t.http().get('/api/auth/sessions/%E0%A4%A').set('Authorization', bearer(user.accessToken)),
    ],
    [
      'DELETE with a malformed percent-escape in a path parameter',
      400,
      () => t.http().delete('/api/auth/sessions/%E0%A4%A').set('Authorization', bearer(user.accessToken)),
    ],
    ['GET an unknown path with a malformed percent-escape', 400, () => t.http().get('/api/%E0%A4%A')],
    ['GET / (nothing routed there)', 404, () => t.http().get('/')],
    ['GET an unknown path', 404, () => t.http().get('/api/nope')],
    ['HEAD an unknown path', 404, () => t.http().head('/api/nope')],
    ['HEAD /health/live', 200, () => t.http().head('/health/live')],
    ['HEAD a protected route without a token', 401, () => t.http().head('/api/users/me')],
    ['GET /api/auth/login (wrong method)', 405, () => t.http().get('/api/auth/login')],
    ['TRACE an unknown path', 404, () => t.http().trace('/api/nope')],
    [
      'a 101 kB body',
      413,
      () =>
        t
          .http()
          .post('/api/auth/login')
          .send({ username: 'abc', password: 'p'.repeat(101 * 1024) }),
    ],
    ['an unparseable Content-Type', 415, () => t.http().post('/api/auth/login').set('Content-Type', ';;;').send('{}')],
  ];

  it.each(requests)('%s: %d with the contract headers and body', async (label, status, request) => {
    const res = await request();
    expectContractResponse(res, status, label);
    expect(res.text ?? '').not.toMatch(/%E0|decode|param/i);
  });

  it.each([
    ['OPTIONS on a known path', '/api/auth/login'],
    ['OPTIONS on an unknown path', '/api/nope'],
  ])('%s: the contract headers, and the contract body if refused', async (label, path) => {
    const res = await t.http().options(path);
    expectContractResponse(res, res.status, label);
  });

  it('the malformed percent-escape is not echoed, on either adapter: the same body', async () => {
    const res = await t.http().get('/api/auth/sessions/%E0%A4%A').set('Authorization', bearer(user.accessToken));
    expect(res.body).toEqual({ statusCode: 400, message: expect.any(String), error: 'Bad Request' });
    expect(res.text).not.toContain('%E0');
  });

  describe("Node.js's HTTP parser refuses the request (no framework involved)", () => {
    let base: string;
    beforeAll(async () => {
      base = await listenOnV4(t);
    });

    it('a 20 kB header (over the 16 kB limit): 431 with the contract body and headers, Connection: close', async () => {
      const res = await rawRequest(base, [
        'GET /health/live HTTP/1.1',
        'Host: 127.0.0.1',
        `X-Padding: ${'a'.repeat(20 * 1024)}`,
      ]);
      expectRawContractError(res, 431);
    });

    it.each([
      ['a request line that is not HTTP', ['GARBAGE']],
      ['a header name with a space', ['GET /health/live HTTP/1.1', 'Host: 127.0.0.1', 'Bad Header: x']],
      [
        'Content-Length and Transfer-Encoding together (request smuggling, RFC 9112 section 6.1)',
        [
          'POST /api/auth/login HTTP/1.1',
          'Host: 127.0.0.1',
          'Content-Type: application/json',
          'Content-Length: 2',
          'Transfer-Encoding: chunked',
        ],
      ],
    ])('%s: 400 with the contract body and headers', async (_label, head) => {
      expectRawContractError(await rawRequest(base, head), 400);
    });

    it('an Expect other than 100-continue: 417 with the contract body and headers', async () => {
      const res = await rawRequest(base, [
        'POST /api/auth/login HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        'Content-Length: 2',
        'Expect: 200-ok',
      ]);
      expectRawContractError(res, 417);
    });

    it('control: after those, the server still answers, and logs in', async () => {
      expect((await t.http().get('/health/live')).status).toBe(200);
      expect(
        (await t.http().post('/api/auth/login').send({ username: user.username, password: PASSWORD })).status,
      ).toBe(200);
    });
  });
});

describe('security: CORS preflights and their neighbours carry the contract headers (OWASP HTTP Security Response Headers Cheat Sheet)', () => {
  const ALLOWED_ORIGIN = 'https://app.example';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', CORS_ORIGINS: ALLOWED_ORIGIN }, 'secedgecors');
  });
  afterAll(async () => {
    await t?.close();
  });

  const preflight = (origin: string) =>
    t.http().options('/api/auth/login').set('Origin', origin).set('Access-Control-Request-Method', 'POST');

  it('a preflight from an allowed origin: 204 with nosniff and an X-Request-Id', async () => {
    const res = await preflight(ALLOWED_ORIGIN);
    expectContractResponse(res, 204, 'allowed preflight');
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
  });

  it('a preflight from a foreign origin: no CORS grant, the contract headers', async () => {
    const res = await preflight('https://evil.example');
    expectContractResponse(res, res.status, 'foreign preflight');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([
    ['OPTIONS on a known path without preflight headers', '/api/auth/login'],
    ['OPTIONS on an unknown path without preflight headers', '/api/nope'],
  ])('%s: the contract headers, and the contract body if refused', async (label, path) => {
    const res = await t.http().options(path);
    expectContractResponse(res, res.status, label);
  });

  it.each([
    ['GET an unknown path', 404, () => t.http().get('/api/nope')],
    ['HEAD an unknown path', 404, () => t.http().head('/api/nope')],
    ['GET /api/auth/login (wrong method)', 405, () => t.http().get('/api/auth/login')],
  ])('%s: %d, as without CORS', async (label, status, request) => {
    expectContractResponse(await request(), status, label);
  });
});
