import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ResourceAppModule } from '../../examples/resource-service/src/resource-app.module';
import { startApp, type AppProcess } from '../faults/support/processes';
import { jwtPayload, PASSWORD, sleep, uniqueUsername } from '../support/http';
import { randomSecret, uniqueDbName } from '../support/test-app';

/**
 * The example resource service (examples/resource-service), protected by the guard package, in front
 * of two instances of the auth service (`node main.js`, EdDSA, one database): it verifies tokens
 * without calling the auth service, refuses a logged-out session as soon as the feed tells it, answers
 * 503 once the feed has been silent longer than its bound, and misses no revocation made meanwhile.
 */

jest.setTimeout(120_000);

const FEED_TOKEN = randomBytes(32).toString('base64url');
/** The guard's bound on the feed's silence, shortened for the test (the package's default is 2 s). */
const MAX_FEED_SILENCE_MS = 1000;
const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  key.export({ format: 'pem', type: 'pkcs8' }).toString();
const firstKey = pem(generateKeyPairSync('ed25519').privateKey);
const secondKey = pem(generateKeyPairSync('ed25519').privateKey);

describe('example resource service with the guard package, two auth instances (EdDSA)', () => {
  // startApp adds NODE_ENV=production, the loopback host, the limits off and LOG_LEVEL=warn.
  const shared = {
    MONGODB_URI: process.env.MONGODB_URI,
    MONGODB_DB_NAME: uniqueDbName('example'),
    ACCESS_TOKEN_SECRET: randomSecret(),
    REFRESH_TOKEN_SECRET: randomSecret(),
    ACCESS_TOKEN_ALGORITHM: 'EdDSA',
    ACCESS_TOKEN_PRIVATE_KEY: firstKey,
    REVOCATION_FEED_TOKEN: FEED_TOKEN,
  };
  let a: AppProcess;
  let b: AppProcess;
  let example: INestApplication;
  let exampleUrl: string;

  /** An auth instance; with `port`, started again where it was (the example keeps B's URLs). */
  const startAuth = (env: Record<string, string> = {}, port?: number) => startApp({ ...shared, ...env }, port);

  async function session(on: AppProcess) {
    const username = uniqueUsername('ex');
    expect((await on.client.register(username, PASSWORD)).status).toBe(201);
    const accessToken = (await on.client.login(username, PASSWORD)).body.accessToken as string;
    return { accessToken, sid: jwtPayload(accessToken).sid as string };
  }

  const reports = async (token: string) =>
    (await fetch(`${exampleUrl}/reports`, { headers: { Authorization: `Bearer ${token}` } })).status;
  const logout = async (on: AppProcess, token: string) =>
    (await on.client.request('POST', '/api/auth/logout', { token })).status;

  /** Polls until `status` is answered; returns how long that took. */
  async function untilStatus(token: string, status: number, timeoutMs: number): Promise<number> {
    const start = performance.now();
    let last = 0;
    while (performance.now() - start < timeoutMs) {
      last = await reports(token);
      if (last === status) return performance.now() - start;
      await sleep(5);
    }
    throw new Error(`the example still answered ${last}, not ${status}, after ${timeoutMs} ms`);
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([startAuth(), startAuth()]);
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResourceAppModule.register({
          issuer: 'secure-logout-jwt',
          jwksUrl: `${b.baseUrl}/.well-known/jwks.json`,
          feedUrl: `${b.baseUrl}/api/auth/revocations`,
          feedToken: FEED_TOKEN,
          maxFeedSilenceMs: MAX_FEED_SILENCE_MS,
          // A rotation below must be seen at once; production keeps the package's 30 s.
          jwksCooldownMs: 100,
          clockToleranceSeconds: 1,
          feedReconnectDelayMs: 100,
        }),
      ],
    }).compile();
    example = moduleRef.createNestApplication({ logger: false });
    await example.listen(0, '127.0.0.1');
    exampleUrl = await example.getUrl();
    exampleUrl = exampleUrl.replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await example?.close();
    await Promise.all([a?.kill(), b?.kill()]);
  });

  it('accepts a live token and refuses it once logged out on either auth instance (the feed of B)', async () => {
    for (const on of [a, b]) {
      const { accessToken } = await session(on);
      await untilStatus(accessToken, 200, 5_000);
      expect(await logout(on, accessToken)).toBe(200);
      await untilStatus(accessToken, 401, 2_000);
    }
  });

  it('answers 503 once the feed has been silent past its bound, and after B is back refuses a session revoked meanwhile', async () => {
    const live = await session(a);
    const revokedMeanwhile = await session(a);
    await untilStatus(live.accessToken, 200, 5_000);
    expect(await reports(revokedMeanwhile.accessToken)).toBe(200);

    await b.kill();
    // Fail closed: it can no longer know of revocations. Within the bound, plus the reconnection attempts
    // and the time a request takes on a busy machine (untilStatus throws past it).
    await untilStatus(live.accessToken, 503, 3 * MAX_FEED_SILENCE_MS);
    expect(await logout(a, revokedMeanwhile.accessToken)).toBe(200);
    expect(await reports(revokedMeanwhile.accessToken)).toBe(503);

    b = await startAuth({}, b.port);
    await untilStatus(live.accessToken, 200, 15_000);
    expect(await reports(revokedMeanwhile.accessToken)).toBe(401);
  });

  it('after a key rotation, accepts tokens of the new key and, until they expire, those of the retired one', async () => {
    // A signs with the first key, its tokens short-lived; B signs with the second, the first retired.
    await a.kill();
    a = await startAuth({ ACCESS_TOKEN_EXPIRY: '4s' }, a.port);
    const old = await session(a);
    await b.kill();
    b = await startAuth({ ACCESS_TOKEN_PRIVATE_KEY: secondKey, ACCESS_TOKEN_PREVIOUS_KEYS: firstKey }, b.port);
    const current = await session(b);
    expect(jwtPayload(old.accessToken).sid).not.toBe(jwtPayload(current.accessToken).sid);

    await untilStatus(current.accessToken, 200, 15_000);
    expect(await reports(old.accessToken)).toBe(200);
    // Past its exp (4 s) and the guard's tolerance (1 s): refused, while the new key's token goes on.
    await untilStatus(old.accessToken, 401, 10_000);
    expect(await reports(current.accessToken)).toBe(200);
  });
});
