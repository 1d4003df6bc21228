import { createHmac, randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { createTestApp, randomSecret, type TestApp } from './support/test-app';
import { PASSWORD, register, setCookieHeaders, uniqueUsername, bearer } from './support/http';
import { errorMessageText, expectErrorBody } from './support/contract-assertions';

type Body = Record<string, unknown>;

/** An HS256 JWT with every claim the app mints, signed with a secret the app does not know. */
function foreignJwt(): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const oid = () => randomBytes(12).toString('hex');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: oid(), sid: oid(), jti: oid(), roles: ['user'], iat: now, exp: now + 900 })}`;
  return `${unsigned}.${createHmac('sha256', randomSecret()).update(unsigned).digest('base64url')}`;
}

const PROTECTED_ROUTES = [
  ['GET', '/api/users/me'],
  ['GET', '/api/auth/verify'],
  ['POST', '/api/auth/logout'],
  ['GET', '/api/users'],
] as const;

describe('errors, validation and HTTP hygiene', () => {
  let t: TestApp;
  let existing: { username: string };
  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0' }, 'errors');
    existing = await register(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const call = (method: 'GET' | 'POST', path: string) => (method === 'GET' ? t.http().get(path) : t.http().post(path));
  const countOf = (collection: string) => t.connection.collection(collection).countDocuments();

  describe('401 on a protected route', () => {
    it.each(PROTECTED_ROUTES)(
      '%s %s without a token: WWW-Authenticate: Bearer (no error=), "Unauthorized"',
      async (method, path) => {
        const res = await call(method, path);
        expectErrorBody(res, 401);
        expect(res.body.message).toBe('Unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
        expect(res.headers['www-authenticate']).not.toContain('error=');
      },
    );

    it.each([
      ['a garbage Bearer token', { Authorization: 'Bearer garbage' }],
      ['a three-part garbage Bearer token', { Authorization: 'Bearer a.b.c' }],
      ['a JWT signed with another secret', { Authorization: bearer(foreignJwt()) }],
      ['a garbage accessToken cookie', { Cookie: 'accessToken=garbage' }],
    ])('with %s: WWW-Authenticate has error="invalid_token", "Unauthorized"', async (_label, headers) => {
      for (const [method, path] of PROTECTED_ROUTES) {
        const res = await call(method, path).set(headers as Record<string, string>);
        expectErrorBody(res, 401);
        expect(res.body.message).toBe('Unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
    });
  });

  describe('credentials validation', () => {
    const username = () => uniqueUsername('valid');
    const invalidBodies: Array<[string, () => unknown]> = [
      ['a 2-character username', () => ({ username: 'ab', password: PASSWORD })],
      ['a 33-character username', () => ({ username: 'u'.repeat(33), password: PASSWORD })],
      ['a username with a space', () => ({ username: 'bad name', password: PASSWORD })],
      ['a username with a slash', () => ({ username: 'bad/name', password: PASSWORD })],
      ['a username with a non-ASCII letter', () => ({ username: 'jürgen', password: PASSWORD })],
      ['a 7-character password', () => ({ username: username(), password: 'x'.repeat(7) })],
      ['a 129-character password', () => ({ username: username(), password: 'x'.repeat(129) })],
      ['no password', () => ({ username: username() })],
      ['no username', () => ({ password: PASSWORD })],
      ['an unknown property', () => ({ username: username(), password: PASSWORD, email: 'a@b.example' })],
      ['{"$ne":null} as username', () => ({ username: { $ne: null }, password: PASSWORD })],
      ['{"$gt":""} as username', () => ({ username: { $gt: '' }, password: PASSWORD })],
      ['{"$ne":null} as password', () => ({ username: username(), password: { $ne: null } })],
      ['an array as username', () => ({ username: [username()], password: PASSWORD })],
      ['a number as username', () => ({ username: 12345, password: PASSWORD })],
      ['a number as password', () => ({ username: username(), password: 123456789 })],
      ['a JSON array as the body', () => [{ username: username(), password: PASSWORD }]],
    ];

    it.each(invalidBodies)('register with %s: 400 and nobody created', async (_label, body) => {
      const before = await countOf('users');
      const res = await t
        .http()
        .post('/api/auth/register')
        .send(body() as Body);
      expectErrorBody(res, 400);
      expect(await countOf('users')).toBe(before);
    });

    it.each(invalidBodies.map(([label, body]) => [label, () => withExistingUser(body(), existing.username)] as const))(
      'login with %s: 400, no token, no cookie, no session',
      async (_label, body) => {
        const before = await countOf('sessions');
        const res = await t
          .http()
          .post('/api/auth/login')
          .send(body() as Body);
        expectErrorBody(res, 400);
        expect(JSON.stringify(res.body)).not.toMatch(/accessToken|refreshToken/);
        expect(setCookieHeaders(res)).toEqual([]);
        expect(await countOf('sessions')).toBe(before);
      },
    );

    it('accepts the boundaries: 3 and 32 characters of A-Z a-z 0-9 _ . -, passwords of 8 and 128 of any characters', async () => {
      const suffix = randomBytes(16).toString('hex');
      const accepted = [
        { username: `A.${suffix.slice(0, 1)}`, password: 'aaaaaaaa' },
        { username: `Zz09_.-${suffix}`.slice(0, 32), password: `pässwörd ${'x'.repeat(119)}` },
      ];
      for (const body of accepted) {
        const res = await t.http().post('/api/auth/register').send(body);
        expect([body.username, res.status]).toEqual([body.username, 201]);
        expect((await t.http().post('/api/auth/login').send(body)).status).toBe(200);
      }
    });
  });

  describe('malformed and oversized requests', () => {
    it('answers malformed JSON with 400 and no parser message', async () => {
      const res = await t
        .http()
        .post('/api/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"username": "${existing.username}", "password": `);
      expectErrorBody(res, 400);
      expect(errorMessageText(res)).not.toMatch(/JSON at position|SyntaxError|Unexpected token|Unexpected end/);
    });

    it('answers a body over 100 kB with 413 and a JSON error body', async () => {
      const res = await t
        .http()
        .post('/api/auth/register')
        .send({ username: uniqueUsername(), password: 'p'.repeat(101 * 1024) });
      expectErrorBody(res, 413);
    });

    it.each([
      ['GET', '/api/does-not-exist'],
      ['POST', '/api/auth/does-not-exist'],
      ['GET', '/does-not-exist'],
    ] as const)('answers the unknown route %s %s with a 404 JSON error body', async (method, path) => {
      expectErrorBody(await call(method, path), 404);
    });
  });

  describe('headers on every response', () => {
    const requests: Array<[string, () => PromiseLike<Response>]> = [
      ['200 /health', () => t.http().get('/health')],
      ['200 /health/live', () => t.http().get('/health/live')],
      [
        '201 register',
        () => t.http().post('/api/auth/register').send({ username: uniqueUsername(), password: PASSWORD }),
      ],
      ['400 login', () => t.http().post('/api/auth/login').send({})],
      [
        '401 login',
        () =>
          t
            .http()
            .post('/api/auth/login')
            .send({ username: existing.username, password: `${PASSWORD}?` }),
      ],
      ['401 /api/users/me', () => t.http().get('/api/users/me')],
      ['404', () => t.http().get('/api/does-not-exist')],
      [
        '413',
        () =>
          t
            .http()
            .post('/api/auth/login')
            .send({ username: 'abc', password: 'p'.repeat(101 * 1024) }),
      ],
      ['/docs', () => t.http().get('/docs')],
      ['/docs-json', () => t.http().get('/docs-json')],
    ];

    it.each(requests)('%s: X-Content-Type-Options: nosniff and no X-Powered-By', async (_label, send) => {
      const res = await send();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('health and documentation', () => {
    it('GET /health answers 200 {status:"ok",...}', async () => {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
    });

    it('GET /health/live answers 200', async () => {
      expect((await t.http().get('/health/live')).status).toBe(200);
    });

    it('GET /docs answers 200 HTML', async () => {
      const res = await t.http().get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    });

    // The page Chromium drives in test/explorer, as far as the adapter serves it: its static files
    // (express.static or @fastify/static) and the Content-Security-Policy they must run under.
    it('GET /docs: every script and stylesheet it references is served, and the CSP lets them run', async () => {
      const page = await t.http().get('/docs');
      const assets = [...String(page.text).matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"/g)].map(
        ([, path]) => new URL(path, 'http://app/docs').pathname,
      );
      expect(assets.filter((path) => path.endsWith('.js')).length).toBeGreaterThanOrEqual(2);
      expect(assets.filter((path) => path.endsWith('.css')).length).toBeGreaterThanOrEqual(1);
      for (const path of assets) {
        const asset = await t.http().get(path);
        const type = path.endsWith('.css') ? /^text\/css/ : path.endsWith('.js') ? /javascript/ : /./;
        expect({ path, status: asset.status, type: type.test(String(asset.headers['content-type'])) }).toEqual({
          path,
          status: 200,
          type: true,
        });
      }
      const csp = String(page.headers['content-security-policy']);
      const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? /(?:^|;)\s*default-src ([^;]*)/.exec(csp)?.[1];
      expect(scriptSrc?.split(/\s+/)).toContain("'self'");
      // Every script is a file of our own origin: nothing inline for a CSP without 'unsafe-inline'.
      expect(String(page.text)).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>\s*\S/);
    });

    describe('GET /docs-json', () => {
      let doc: {
        openapi: string;
        paths: Record<
          string,
          Record<string, { responses?: Record<string, unknown>; security?: Array<Record<string, unknown>> }>
        >;
        components?: { securitySchemes?: Record<string, Record<string, string>> };
      };
      beforeAll(async () => {
        const res = await t.http().get('/docs-json');
        expect(res.status).toBe(200);
        doc = res.body;
      });

      it('is an OpenAPI 3 document', () => {
        expect(doc.openapi).toMatch(/^3\./);
      });

      it.each([
        ['post', '/api/auth/register'],
        ['post', '/api/auth/login'],
        ['post', '/api/auth/refresh'],
        ['post', '/api/auth/logout'],
        ['get', '/api/auth/verify'],
        ['get', '/api/users/me'],
        ['get', '/api/users'],
        ['get', '/health'],
        ['get', '/health/live'],
      ])('describes %s %s', (method, path) => {
        expect(Object.keys(doc.paths)).toContain(path);
        expect(Object.keys(doc.paths[path])).toContain(method);
      });

      it('has a bearer scheme and a cookie apiKey scheme named accessToken', () => {
        const schemes = Object.values(doc.components?.securitySchemes ?? {});
        expect(schemes).toContainEqual(
          expect.objectContaining({ type: 'http', scheme: expect.stringMatching(/^bearer$/i) }),
        );
        expect(schemes).toContainEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'accessToken' }));
      });

      it.each([
        ['post', '/api/auth/logout'],
        ['get', '/api/auth/verify'],
        ['get', '/api/users/me'],
        ['get', '/api/users'],
      ])('documents 401 and both security schemes for the protected route %s %s', (method, path) => {
        const operation = doc.paths[path][method];
        expect(Object.keys(operation.responses ?? {})).toContain('401');
        const schemes = doc.components?.securitySchemes ?? {};
        const required = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
        expect(required.map((name) => schemes[name]?.type).sort()).toEqual(['apiKey', 'http']);
      });

      it('documents 401 for a refresh without a valid refresh token', () => {
        expect(Object.keys(doc.paths['/api/auth/refresh'].post.responses ?? {})).toContain('401');
      });
    });
  });
});

/** The invalid login bodies aimed at a real account, so that an operator that slipped through would match it. */
function withExistingUser(body: unknown, username: string): unknown {
  if (Array.isArray(body) || typeof body !== 'object' || body === null) return body;
  const record = body as Body;
  return typeof record.username === 'string' && record.username.startsWith('valid_') ? { ...record, username } : record;
}
