import type { Test } from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app';
import { login, PASSWORD, registerAndLogin, setCookieHeaders, type LoggedIn, bearer } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';

/**
 * Cross-site request forgery and cross-origin reads. Sources: OWASP Cross-Site Request Forgery
 * Prevention Cheat Sheet ("Verifying Origin with standard headers", "Fetch Metadata headers"), OWASP
 * HTML5 Security Cheat Sheet (CORS), ASVS 4.0 V4.2.2 (anti-CSRF), V14.5.3 (CORS: strict allow list,
 * no "null" origin).
 * Properties: a cookie-authenticated POST/PATCH/DELETE whose Origin is present and neither in
 * CORS_ORIGINS nor the server's own, or that says Sec-Fetch-Site: cross-site, is 403 and changes
 * nothing; the same request authenticated by the Authorization header is unaffected; CORS answers
 * only the listed origins, never "*" with credentials.
 */

jest.setTimeout(90_000);

const ALLOWED_ORIGIN = 'https://app.example';

describe('security: CSRF on cookie-authenticated state changes (OWASP CSRF Prevention Cheat Sheet, ASVS 4.0 V4.2.2)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      { AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000', CORS_ORIGINS: ALLOWED_ORIGIN },
      'seccsrf',
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const alive = async (accessToken: string) =>
    (await t.http().get('/api/users/me').set('Authorization', bearer(accessToken))).status === 200;

  interface Victim {
    user: LoggedIn;
    /** A second session of the same user, for the routes that act on another session. */
    other: LoggedIn;
  }
  const newVictim = async (): Promise<Victim> => {
    const user = await registerAndLogin(t);
    return { user, other: await login(t, user.username) };
  };

  /** A state change sent with the victim's cookie, as a browser would on a forged cross-site request. */
  const stateChanges: Array<[string, (v: Victim) => Test, (v: Victim) => Promise<boolean>]> = [
    [
      'POST /api/auth/logout',
      (v) => t.http().post('/api/auth/logout').set('Cookie', `accessToken=${v.user.accessToken}`),
      (v) => alive(v.user.accessToken),
    ],
    [
      'POST /api/auth/logout-all',
      (v) => t.http().post('/api/auth/logout-all').set('Cookie', `accessToken=${v.user.accessToken}`),
      async (v) => (await alive(v.user.accessToken)) && (await alive(v.other.accessToken)),
    ],
    [
      'DELETE /api/auth/sessions/:id',
      (v) =>
        t
          .http()
          .delete(`/api/auth/sessions/${sidOf(v.other)}`)
          .set('Cookie', `accessToken=${v.user.accessToken}`),
      (v) => alive(v.other.accessToken),
    ],
    [
      'PATCH /api/users/me/password',
      (v) =>
        t
          .http()
          .patch('/api/users/me/password')
          .set('Cookie', `accessToken=${v.user.accessToken}`)
          .send({ currentPassword: PASSWORD, newPassword: 'attacker chose this one' }),
      async (v) =>
        (await alive(v.other.accessToken)) &&
        (await t.http().post('/api/auth/login').send({ username: v.user.username, password: PASSWORD })).status === 200,
    ],
    [
      'DELETE /api/users/me',
      (v) => t.http().delete('/api/users/me').set('Cookie', `accessToken=${v.user.accessToken}`),
      (v) => alive(v.user.accessToken),
    ],
    [
      'POST /api/auth/refresh (refreshToken cookie)',
      (v) => t.http().post('/api/auth/refresh').set('Cookie', `refreshToken=${v.user.refreshToken}`),
      async (v) =>
        (await t.http().post('/api/auth/refresh').send({ refreshToken: v.user.refreshToken })).status === 200,
    ],
  ];

  const forgeries: Array<[string, Record<string, string>]> = [
    ['a foreign Origin', { Origin: 'https://evil.example' }],
    ['Origin: null (sandboxed iframe, data: URL)', { Origin: 'null' }],
    ['a co-tenant sub-domain Origin (https://evil.app.example)', { Origin: 'https://evil.app.example' }],
    [
      'an Origin that only starts with an allowed one (https://app.example.evil.test)',
      { Origin: 'https://app.example.evil.test' },
    ],
    ['the allowed host over plain http (http://app.example)', { Origin: 'http://app.example' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'Sec-Fetch-Site': 'cross-site' }],
  ];

  const cases = stateChanges.flatMap(([route, request, unchanged]) =>
    forgeries.map(([vector, headers]) => [route, vector, request, unchanged, headers] as const),
  );

  it.each(cases)(
    '%s with the cookie and %s: 403, nothing changed',
    async (_route, _vector, request, unchanged, headers) => {
      const victim = await newVictim();
      const res = await request(victim).set(headers);
      expectErrorBody(res, 403);
      expect(setCookieHeaders(res)).toEqual([]);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(await unchanged(victim)).toBe(true);
    },
  );

  it.each([
    ['POST /api/auth/logout', (_v: Victim) => t.http().post('/api/auth/logout'), 200],
    [
      'PATCH /api/users/me/password',
      (_v: Victim) =>
        t
          .http()
          .patch('/api/users/me/password')
          .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' }),
      204,
    ],
    ['DELETE /api/auth/sessions/:id', (v: Victim) => t.http().delete(`/api/auth/sessions/${sidOf(v.other)}`), 204],
  ] as const)(
    '%s with Authorization: Bearer, a foreign Origin and Sec-Fetch-Site: cross-site: unaffected (%i)',
    async (_route, request, status) => {
      const victim = await newVictim();
      const res = await request(victim)
        .set('Authorization', bearer(victim.user.accessToken))
        .set('Origin', 'https://evil.example')
        .set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(status);
    },
  );

  it.each([
    ['the allowed Origin', { Origin: ALLOWED_ORIGIN }],
    ["the server's own Origin", { Host: 'auth.internal.test', Origin: 'http://auth.internal.test' }],
    [
      "the server's own Origin with a port",
      { Host: 'auth.internal.test:8443', Origin: 'http://auth.internal.test:8443' },
    ],
    ['Sec-Fetch-Site: same-origin', { 'Sec-Fetch-Site': 'same-origin' }],
    ['no Origin and no Sec-Fetch-Site (a non-browser client)', {}],
  ])('control: a cookie-authenticated logout with %s succeeds (200)', async (_name, headers) => {
    const victim = await newVictim();
    const res = await t
      .http()
      .post('/api/auth/logout')
      .set('Cookie', `accessToken=${victim.user.accessToken}`)
      .set(headers);
    expect(res.status).toBe(200);
    expect(await alive(victim.user.accessToken)).toBe(false);
    if ('Origin' in headers && headers.Origin === ALLOWED_ORIGIN) {
      // A listed origin gets the CORS headers that let its page read the answer.
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
    }
  });

  it('a cross-site GET with the cookie is answered, but without Access-Control-Allow-Origin the attacker page cannot read it', async () => {
    const victim = await newVictim();
    const res = await t
      .http()
      .get('/api/users/me')
      .set('Cookie', `accessToken=${victim.user.accessToken}`)
      .set('Origin', 'https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('security: CORS only for CORS_ORIGINS, never "*" with credentials (OWASP HTML5 Security Cheat Sheet, ASVS 4.0 V14.5.3)', () => {
  let listed: TestApp;
  let unlisted: TestApp;
  beforeAll(async () => {
    listed = await createTestApp({ AUTH_RATE_LIMIT: '0', CORS_ORIGINS: ALLOWED_ORIGIN }, 'seccors');
    unlisted = await createTestApp({ AUTH_RATE_LIMIT: '0', CORS_ORIGINS: undefined }, 'secnocors');
  });
  afterAll(async () => {
    await listed?.close();
    await unlisted?.close();
  });

  const preflight = (t: TestApp, origin: string, path = '/api/auth/logout') =>
    t
      .http()
      .options(path)
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,authorization');

  it.each([
    'https://evil.example',
    'null',
    'https://evil.app.example',
    'https://app.example.evil.test',
    'http://app.example',
    'https://app.example:8443',
  ])(
    'a preflight from the unlisted origin %s, or a plain request, gets no Access-Control-Allow-Origin',
    async (origin) => {
      for (const path of ['/api/auth/logout', '/api/auth/refresh', '/api/users/me/password']) {
        const res = await preflight(listed, origin, path);
        expect({ path, acao: res.headers['access-control-allow-origin'] }).toEqual({ path, acao: undefined });
      }
      const res = await listed.http().get('/health/live').set('Origin', origin);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    },
  );

  it('a preflight from the listed origin gets exactly that origin with credentials, and Vary: Origin', async () => {
    const res = await preflight(listed, ALLOWED_ORIGIN);
    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers.vary)).toMatch(/\bOrigin\b/i);
  });

  it('no response carries Access-Control-Allow-Origin: "*", with or without an Origin', async () => {
    for (const origin of [undefined, ALLOWED_ORIGIN, 'https://evil.example']) {
      for (const t of [listed, unlisted]) {
        const requests = [
          t.http().get('/health/live'),
          t.http().post('/api/auth/login').send({}),
          t.http().get('/api/users/me'),
          preflight(t, origin ?? 'https://x.example'),
        ];
        for (const pending of requests) {
          const res = await (origin ? pending.set('Origin', origin) : pending);
          expect(res.headers['access-control-allow-origin']).not.toBe('*');
        }
      }
    }
  });

  it('without CORS_ORIGINS, no origin gets Access-Control-Allow-Origin (no cross-origin browser access)', async () => {
    for (const origin of [ALLOWED_ORIGIN, 'https://evil.example', 'null']) {
      expect((await preflight(unlisted, origin)).headers['access-control-allow-origin']).toBeUndefined();
      expect(
        (await preflight(unlisted, origin, '/api/auth/login')).headers['access-control-allow-origin'],
      ).toBeUndefined();
      expect(
        (await unlisted.http().get('/health/live').set('Origin', origin)).headers['access-control-allow-origin'],
      ).toBeUndefined();
    }
  });

  it('without CORS_ORIGINS, a cookie-authenticated logout from a foreign Origin is still refused (403), the session alive', async () => {
    const user = await registerAndLogin(unlisted);
    const res = await unlisted
      .http()
      .post('/api/auth/logout')
      .set('Cookie', `accessToken=${user.accessToken}`)
      .set('Origin', 'https://evil.example');
    expectErrorBody(res, 403);
    expect(setCookieHeaders(res)).toEqual([]);
    expect((await unlisted.http().get('/api/users/me').set('Authorization', bearer(user.accessToken))).status).toBe(
      200,
    );
  });
});

function sidOf(session: LoggedIn): string {
  return JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString('utf8')).sid as string;
}
