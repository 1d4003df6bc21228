import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AccessTokenVerifier, RevocationFeedClient } from './index';
import { createSigningKey, FakeAuthServer, nowSeconds, waitFor, type SigningKey } from './testing/fake-auth-server';
import { createApp, JWKS_COOLDOWN_MS, type Adapter } from './testing/guarded-app';

const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };
const EXPIRED = { statusCode: 401, message: 'Access token expired', error: 'Unauthorized' };
const UNAVAILABLE = { statusCode: 503, message: 'Service Unavailable', error: 'Service Unavailable' };
const INVALID_TOKEN = 'Bearer error="invalid_token"';

describe.each<Adapter>(['express', 'fastify'])('AuthGuard through a Nest application (%s)', (adapter) => {
  let server: FakeAuthServer;
  let key: SigningKey;
  let app: INestApplication;
  const get = (path: string, token?: string) => {
    const call = request(app.getHttpServer()).get(path);
    return token === undefined ? call : call.set('Authorization', `Bearer ${token}`);
  };

  beforeAll(async () => {
    key = await createSigningKey('EdDSA');
    server = await FakeAuthServer.start([key, await createSigningKey('ES256')]);
    app = await createApp(server, adapter);
  });

  // Tests that silence the feed leave it to reconnect: each test starts from a feed in sync.
  beforeEach(async () => {
    expect(await app.get(RevocationFeedClient).waitForSync(3000)).toBe(true);
  });

  afterEach(() => {
    server.unmute();
    server.jwksMode = 'up';
  });

  afterAll(async () => {
    await app?.close();
    await server.close();
  });

  it('starts in sync with the feed', () => {
    expect(app.get(RevocationFeedClient).status.inSync).toBe(true);
  });

  it('lets anyone through a @Public() route', async () => {
    await get('/open').expect(200, { open: true });
    await get('/public-class').expect(200, { open: true });
  });

  it.each(['/undecorated', '/me', '/admin', '/public-class/private'])(
    'refuses %s without a token: 401 and a bare Bearer challenge',
    async (path) => {
      const response = await get(path).expect(401, UNAUTHORIZED);
      expect(response.headers['www-authenticate']).toBe('Bearer');
    },
  );

  it('hands the verified caller to the handler', async () => {
    const sid = 'a1b2c3d4e5f6a7b8c9d0e1f2';
    const token = await server.sign(key, { sub: 'user-7', sid, roles: ['user'] });

    await get('/me', token).expect(200, { id: 'user-7', sessionId: sid, roles: ['user'] });
    await get('/undecorated', token).expect(200);
    await get('/public-class/private', token).expect(200);
  });

  it.each([
    ['a forged token', 'eyJhbGciOiJFZERTQSJ9.e30.AAAA'],
    ['a token of another issuer', { iss: 'https://elsewhere.example' }],
    ['a token without sid', { sid: undefined }],
  ])('refuses %s: 401 invalid_token', async (_label, tokenOrClaims) => {
    const token = typeof tokenOrClaims === 'string' ? tokenOrClaims : await server.sign(key, tokenOrClaims);

    const response = await get('/me', token).expect(401, UNAUTHORIZED);
    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
  });

  it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer two tokens', 'Token abc'])(
    'refuses the malformed Authorization header "%s" as an invalid token',
    async (header) => {
      const response = await request(app.getHttpServer()).get('/me').set('Authorization', header).expect(401);
      expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
    },
  );

  it('reads the scheme case-insensitively', async () => {
    const token = await server.sign(key);
    for (const scheme of ['bearer', 'BEARER']) {
      await request(app.getHttpServer()).get('/me').set('Authorization', `${scheme} ${token}`).expect(200);
    }
  });

  it('accepts the token from the accessToken cookie, but the header wins when both are sent', async () => {
    const token = await server.sign(key);

    await request(app.getHttpServer()).get('/me').set('Cookie', `accessToken=${token}`).expect(200);
    await request(app.getHttpServer())
      .get('/me')
      .set('Cookie', `accessToken=${token}`)
      .set('Authorization', 'Bearer not.a.token')
      .expect(401, UNAUTHORIZED);
  });

  it('says an expired token is expired', async () => {
    const token = await server.sign(key, { iat: nowSeconds() - 3600, exp: nowSeconds() - 1800 });

    const response = await get('/me', token).expect(401, EXPIRED);
    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
  });

  it('refuses a caller without the required roles with 403', async () => {
    await get('/admin', await server.sign(key, { roles: ['user'] })).expect(403, {
      statusCode: 403,
      message: 'Insufficient role',
      error: 'Forbidden',
    });
    await get('/admin', await server.sign(key, { roles: ['user', 'admin'] })).expect(200, { admin: true });
  });

  it("requires a controller's roles and its handler's together", async () => {
    await get('/admin-class/report', await server.sign(key, { roles: ['admin'] })).expect(403);
    await get('/admin-class/report', await server.sign(key, { roles: ['auditor'] })).expect(403);
    await get('/admin-class/report', await server.sign(key, { roles: ['admin', 'auditor'] })).expect(200);
  });

  it('refuses @CurrentUser() on a public route rather than hand over nothing', async () => {
    await get('/public-with-user').expect(401, UNAUTHORIZED);
  });

  it("refuses a session as soon as the feed reports it revoked, and only that session's tokens", async () => {
    const sid = 'f0e1d2c3b4a5f6e7d8c9b0a1';
    const token = await server.sign(key, { sid });
    const other = await server.sign(key);
    await get('/me', token).expect(200);

    server.revoke(sid);
    await waitFor(() => app.get(RevocationFeedClient).isRevoked(sid), 'the revocation to arrive');

    const response = await get('/me', token).expect(401, UNAUTHORIZED);
    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
    await get('/me', other).expect(200);
  });

  it('answers 503 while the feed is silent, still 401 to bad tokens, and serves again once it is back', async () => {
    const feed = app.get(RevocationFeedClient);
    const token = await server.sign(key);

    server.mute();
    await waitFor(() => !feed.isInSync(), 'the silence to exceed maxFeedSilenceMs');

    const response = await get('/me', token).expect(503, UNAVAILABLE);
    expect(response.headers['retry-after']).toBe('1');
    await get('/me', 'garbage').expect(401, UNAUTHORIZED);
    await get('/me').expect(401, UNAUTHORIZED);
    await get('/open').expect(200);

    server.unmute();
    expect(await feed.waitForSync(3000)).toBe(true);
    await get('/me', token).expect(200);
  });

  it('refuses a known revoked session with 401 even while the feed is silent', async () => {
    const sid = 'abcdefabcdefabcdefabcdef';
    server.revoke(sid);
    await waitFor(() => app.get(RevocationFeedClient).isRevoked(sid), 'the revocation to arrive');

    server.mute();
    await waitFor(() => !app.get(RevocationFeedClient).isInSync(), 'the silence to be noticed');

    await get('/me', await server.sign(key, { sid })).expect(401, UNAUTHORIZED);
  });

  it('answers 503 to a token of an unknown key while the key set is unreachable', async () => {
    const newKey = await createSigningKey('ES256');
    const token = await server.sign(newKey);
    server.jwksMode = 'reset';
    await new Promise((resolve) => setTimeout(resolve, JWKS_COOLDOWN_MS + 50));
    const verify = jest.spyOn(app.get(AccessTokenVerifier), 'verify');

    await get('/me', token).expect(503, UNAVAILABLE);
    // The key set, not the feed, was the cause.
    await expect(verify.mock.results[0]?.value).resolves.toMatchObject({ status: 'unavailable' });
    verify.mockRestore();

    server.jwksMode = 'up';
    server.publish([key, newKey]);
    await get('/me', token).expect(200);
  });
});
