import { Types } from 'mongoose';
import { jwtPayload, PASSWORD, uniqueUsername, InstanceClient, listenOnLoopback } from './support/http';
import { createTestApp, sharedInstanceEnv, testRedisUrl, type EnvOverrides, type TestApp } from './support/test-app';

/**
 * A revocation racing a write of the same session must stay a revocation. FerretDB's SQLite backend
 * loses one of two overlapping updates of a document, so a refresh's write of the session could put
 * back the `revokedAt: null` that a concurrent logout had just written; found by `npm run soak`. The
 * revocation is therefore recorded by an insert of its own, which liveness and refresh both consult.
 */

jest.setTimeout(120_000);

const RACES = 20;

describe.each([
  ['without Redis', false],
  ['with Redis', true],
])('revocation racing a refresh, two instances, %s', (_mode, withRedis) => {
  let a: TestApp;
  let b: TestApp;
  let onA: InstanceClient;
  let onB: InstanceClient;

  beforeAll(async () => {
    const env: EnvOverrides = {
      ...sharedInstanceEnv(withRedis ? 'raceredis' : 'racedb'),
      REDIS_URL: withRedis ? testRedisUrl() : undefined,
      // Every superseded token is reuse: no grace period blurs what the race leaves behind.
      REFRESH_REUSE_GRACE: '0',
    };
    a = await createTestApp(env, 'race');
    b = await createTestApp(env, 'race');
    onA = await listenOnLoopback(a, 'A');
    onB = await listenOnLoopback(b, 'B');
  });
  afterAll(async () => {
    await b?.app.close();
    await a?.close();
  });

  async function loggedInUser() {
    const username = uniqueUsername('racer');
    const credentials = { username, password: PASSWORD };
    expect((await onA.request('POST', '/api/auth/register', { body: credentials })).status).toBe(201);
    return credentials;
  }

  async function login(credentials: { username: string; password: string }) {
    const res = await onA.request('POST', '/api/auth/login', { body: credentials });
    expect(res.status).toBe(200);
    return res.body as { accessToken: string; refreshToken: string };
  }

  it(`logout on A racing a refresh on B (${RACES} times): afterwards nothing of the session is accepted anywhere`, async () => {
    const credentials = await loggedInUser();
    const accepted: string[] = [];
    for (let race = 0; race < RACES; race++) {
      const session = await login(credentials);
      const [logout, refresh] = await Promise.all([
        onA.request('POST', '/api/auth/logout', { token: session.accessToken }),
        onB.refresh(session.refreshToken),
      ]);
      expect(logout.status).toBe(200);
      expect([200, 401]).toContain(refresh.status);
      // Both have answered: the session is over, on both instances, for every token it ever had.
      for (const instance of [onA, onB]) {
        if ((await instance.verify(session.accessToken)).status !== 401) accepted.push(`${race}: old access token`);
      }
      if (refresh.status === 200) {
        const next = refresh.body as { accessToken: string; refreshToken: string };
        for (const instance of [onA, onB]) {
          if ((await instance.verify(next.accessToken)).status !== 401) accepted.push(`${race}: new access token`);
        }
        if ((await onA.refresh(next.refreshToken)).status !== 401) accepted.push(`${race}: new refresh token`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('a revocation holds even when the session document lost its revokedAt (the lost update, made by hand)', async () => {
    const credentials = await loggedInUser();
    const session = await login(credentials);
    const sid = String(jwtPayload(session.accessToken).sid);
    expect((await onA.request('POST', '/api/auth/logout', { token: session.accessToken })).status).toBe(200);

    // What the racing refresh's write did on FerretDB: the document says live again.
    await a.connection
      .collection('sessions')
      .updateOne({ _id: new Types.ObjectId(sid) }, { $set: { revokedAt: null } });

    for (const instance of [onA, onB]) {
      expect((await instance.verify(session.accessToken)).status).toBe(401);
      expect((await instance.refresh(session.refreshToken)).status).toBe(401);
    }
    const listed = await onB.request('GET', '/api/auth/sessions', { token: (await login(credentials)).accessToken });
    expect(listed.status).toBe(200);
    expect((listed.body as Array<{ id: string }>).map((s) => s.id)).not.toContain(sid);
  });
});
