import { jwtPayload, PASSWORD, uniqueUsername, type InstanceClient, type Reply } from './support/http';
import { closeInstancePair, startInstancePair, type InstancePair } from './support/instance-pair';
import { testRedisUrl, type EnvOverrides } from './support/test-app';
import { startRedis, type RunningRedis } from './support/redis-server';
import { startRedisCluster, type RunningRedisCluster } from './support/redis-cluster';
import { withNode } from './support/redis-processes';

/**
 * Two instances of the server (each its own Nest app on its own port) sharing one database, and in
 * Redis mode one Redis, or one Redis Cluster started here (three masters, three replicas): a revocation
 * answered by A is refused by B on the very next request, with no waiting in between.
 * docs/http-api.md, Logout and revocation; the rate limit is shared state as well.
 */

jest.setTimeout(60_000);

interface Session {
  username: string;
  accessToken: string;
  refreshToken: string;
  sid: string;
}

const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' };

function expect401(res: Reply, what: string): void {
  expect({ what, status: res.status, body: res.body }).toEqual({ what, status: 401, body: UNAUTHORIZED });
}

function expectStatus(res: Reply, status: number, what: string): void {
  expect({ what, status: res.status }).toEqual({ what, status });
}

type StateMode = 'database' | 'redis' | 'cluster';

describe.each([
  ['without Redis (the database carries the state)', 'database'],
  ['with Redis (REDIS_URL on both)', 'redis'],
  ['with a Redis Cluster of three masters and three replicas (REDIS_CLUSTER_NODES on both)', 'cluster'],
] as const)('two instances sharing one database, %s', (_mode, mode: StateMode) => {
  let cluster: RunningRedisCluster | undefined;
  const redisEnv = (): EnvOverrides => ({
    REDIS_URL: mode === 'redis' ? testRedisUrl() : undefined,
    REDIS_CLUSTER_NODES: cluster?.nodes,
  });
  let pair: InstancePair | undefined;
  let onA: InstanceClient;
  let onB: InstanceClient;

  beforeAll(async () => {
    // No failover is wanted here: a node timeout long enough for a loaded machine.
    if (mode === 'cluster') cluster = await startRedisCluster({ nodeTimeoutMs: 5000 });
    pair = await startInstancePair(`multi${mode}`, redisEnv());
    ({ onA, onB } = pair);
  });
  afterAll(async () => {
    await closeInstancePair(pair);
    await cluster?.stop();
  });

  async function newUser(on: InstanceClient = onA): Promise<string> {
    const username = uniqueUsername(mode.slice(0, 2));
    expectStatus(await on.register(username, PASSWORD), 201, `register on ${on.name}`);
    return username;
  }

  async function loginOn(on: InstanceClient, username: string, password = PASSWORD): Promise<Session> {
    const res = await on.login(username, password);
    expectStatus(res, 200, `login on ${on.name}`);
    const { accessToken, refreshToken } = res.body as { accessToken: string; refreshToken: string };
    return { username, accessToken, refreshToken, sid: jwtPayload(accessToken).sid as string };
  }

  async function expectWorksOn(on: InstanceClient, session: Session): Promise<void> {
    expectStatus(await on.me(session.accessToken), 200, `access token on ${on.name}`);
  }

  async function expectRefusedOn(on: InstanceClient, session: Session): Promise<void> {
    expect401(await on.me(session.accessToken), `/api/users/me on ${on.name}`);
    expect401(await on.verify(session.accessToken), `/api/auth/verify on ${on.name}`);
    expect401(await on.refresh(session.refreshToken), `refresh on ${on.name}`);
  }

  it('logout on A: B refuses the access and the refresh token on the very next request', async () => {
    const session = await loginOn(onA, await newUser());
    await expectWorksOn(onB, session);

    expectStatus(await onA.request('POST', '/api/auth/logout', { token: session.accessToken }), 200, 'logout on A');
    await expectRefusedOn(onB, session);
  });

  it('logout-all on A: B refuses the tokens of both sessions', async () => {
    const username = await newUser();
    const first = await loginOn(onA, username);
    const second = await loginOn(onB, username);
    await expectWorksOn(onB, first);
    await expectWorksOn(onA, second);

    expectStatus(
      await onA.request('POST', '/api/auth/logout-all', { token: first.accessToken }),
      200,
      'logout-all on A',
    );
    await expectRefusedOn(onB, first);
    await expectRefusedOn(onB, second);
  });

  it("DELETE /api/auth/sessions/:id on A: B refuses that session and keeps the caller's", async () => {
    const username = await newUser();
    const caller = await loginOn(onA, username);
    const device = await loginOn(onB, username);
    await expectWorksOn(onB, device);

    expectStatus(
      await onA.request('DELETE', `/api/auth/sessions/${device.sid}`, { token: caller.accessToken }),
      204,
      'delete on A',
    );
    await expectRefusedOn(onB, device);
    await expectWorksOn(onB, caller);
  });

  it("password change on A: B refuses the other sessions and still accepts the caller's", async () => {
    const username = await newUser();
    const caller = await loginOn(onA, username);
    const other = await loginOn(onB, username);
    const third = await loginOn(onA, username);
    await expectWorksOn(onB, other);
    await expectWorksOn(onB, third);

    const change = await onA.request('PATCH', '/api/users/me/password', {
      token: caller.accessToken,
      body: { currentPassword: PASSWORD, newPassword: 'another long passphrase' },
    });
    expectStatus(change, 204, 'password change on A');
    await expectRefusedOn(onB, other);
    await expectRefusedOn(onB, third);
    await expectWorksOn(onB, caller);
    expectStatus(await onB.refresh(caller.refreshToken), 200, "caller's refresh on B");
  });

  it("reuse detected on A: B refuses the session's newest tokens", async () => {
    const session = await loginOn(onA, await newUser());
    const first = await onA.refresh(session.refreshToken);
    expectStatus(first, 200, 'first rotation on A');
    const second = await onB.refresh(first.body.refreshToken);
    expectStatus(second, 200, 'second rotation on B');
    const newest: Session = {
      ...session,
      accessToken: second.body.accessToken,
      refreshToken: second.body.refreshToken,
    };
    await expectWorksOn(onB, newest);

    // Two rotations back: reuse whatever the grace period.
    expect401(await onA.refresh(session.refreshToken), 'old refresh token on A');
    await expectRefusedOn(onB, newest);
    expect401(await onB.me(first.body.accessToken), 'earlier access token on B');
  });

  it('account deletion on A: B refuses every session and the credentials', async () => {
    const username = await newUser();
    const caller = await loginOn(onA, username);
    const other = await loginOn(onB, username);
    await expectWorksOn(onB, caller);

    expectStatus(
      await onA.request('DELETE', '/api/users/me', { token: caller.accessToken }),
      204,
      'delete account on A',
    );
    await expectRefusedOn(onB, caller);
    await expectRefusedOn(onB, other);
    // A failed login has a body of its own (the same for unknown users and wrong passwords).
    expectStatus(await onB.login(username, PASSWORD), 401, 'login on B');
  });

  it('shares the session state: a session created on B is refreshed on A, its grace replay answered by B', async () => {
    const session = await loginOn(onB, await newUser(onB));
    const rotated = await onA.refresh(session.refreshToken);
    expectStatus(rotated, 200, 'refresh on A of a session from B');
    expect(jwtPayload(rotated.body.accessToken).sid).toBe(session.sid);
    await expectWorksOn(onA, { ...session, accessToken: rotated.body.accessToken });
    await expectWorksOn(onB, { ...session, accessToken: rotated.body.accessToken });

    // The token rotated last, replayed on the other instance within the grace: the same successor.
    const replay = await onB.refresh(session.refreshToken);
    expectStatus(replay, 200, 'grace replay on B');
    expect(replay.body.refreshToken).toBe(rotated.body.refreshToken);
    expectStatus(await onB.refresh(rotated.body.refreshToken), 200, 'successor on B');
  });

  it('counts failed logins on A and B against one lockout: a burst of 12 wrong passwords, then more one at a time, gets at most 5 checked; then the right one is 429', async () => {
    const username = await newUser();
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? onA : onB).login(username, `wrong-guess-${i}`)),
    );
    const statuses = burst.map((res) => res.status);
    // A refused attempt is not counted (its password was never checked), so the burst may leave room.
    let last = 0;
    for (let i = 0; i < 6 && last !== 429; i++) {
      last = (await (i % 2 ? onA : onB).login(username, `wrong-again-${i}`)).status;
      statuses.push(last);
    }
    expect(last).toBe(429);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    const checked = statuses.filter((status) => status === 401).length;
    expect({ checked, withinLimit: checked <= 5 }).toEqual({ checked, withinLimit: true });
    for (const on of [onA, onB]) expectStatus(await on.login(username, PASSWORD), 429, `right password on ${on.name}`);
  });

  if (mode === 'cluster') {
    it('spreads sessions over the three masters: 30 logins (6 users side by side), each then checked on B', async () => {
      // One user's logins one after another: concurrent ones from one address share its failed-login budget.
      const perUser = await Promise.all(
        Array.from({ length: 6 }, async (_, user) => {
          const username = await newUser();
          const sessions: Session[] = [];
          for (let i = 0; i < 5; i++) sessions.push(await loginOn((user + i) % 2 ? onA : onB, username));
          return sessions;
        }),
      );
      const sessions = perUser.flat();
      const masters = await (cluster as RunningRedisCluster).masters();
      const liveKeysPerMaster = await Promise.all(
        masters.map((port) =>
          withNode(port, async (node) => {
            const keys = await node.keys('slj:session:{*}:live');
            return sessions.filter((session) => keys.includes(`slj:session:{${session.sid}}:live`)).length;
          }),
        ),
      );
      expect(liveKeysPerMaster.reduce((sum, count) => sum + count, 0)).toBe(sessions.length);
      expect(liveKeysPerMaster.map((count) => count > 0)).toEqual([true, true, true]);
      for (const session of sessions) await expectWorksOn(onB, session);
    });
  }

  describe('AUTH_RATE_LIMIT=6 on both instances', () => {
    const LIMIT = 6;
    let dedicatedRedis: RunningRedis[] = [];
    let pairs: InstancePair[] = [];

    /**
     * A pair of its own for each test: the budget is per client address, and every suite's requests
     * come from 127.0.0.1. A database of its own (startPair) and, in Redis mode, a Redis of its own
     * make the count start at zero.
     */
    async function limitedPair(label: string) {
      const redis = mode === 'redis' ? await startRedis() : undefined;
      if (redis) dedicatedRedis.push(redis);
      // The cluster is this file's own: emptied, the count starts at zero as well.
      for (const master of cluster ? await cluster.masters() : []) await withNode(master, (node) => node.flushall());
      const pair = await startInstancePair(`${label}${mode}`, {
        AUTH_RATE_LIMIT: String(LIMIT),
        REDIS_URL: redis?.url,
        REDIS_CLUSTER_NODES: cluster?.nodes,
      });
      pairs.push(pair);
      return pair;
    }

    afterAll(async () => {
      for (const pair of pairs) await closeInstancePair(pair);
      for (const redis of dedicatedRedis) await redis.stop();
      pairs = [];
      dedicatedRedis = [];
    });

    function expectTooManyRequests(res: Reply, on: string): void {
      expect({ on, status: res.status, body: res.body }).toEqual({
        on,
        status: 429,
        body: { statusCode: 429, message: expect.any(String), error: 'Too Many Requests' },
      });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }

    it('counts requests to A and to B against one budget: 3 + 3, then the 7th on either is 429', async () => {
      const { onA: a, onB: b } = await limitedPair('ratelimit');
      const statuses: string[] = [];
      for (const on of [a, a, a, b, b, b]) statuses.push(`${on.name}:${(await on.refresh('not-a-token')).status}`);
      expect(statuses).toEqual(['A:401', 'A:401', 'A:401', 'B:401', 'B:401', 'B:401']);

      for (const on of [a, b]) expectTooManyRequests(await on.refresh('not-a-token'), on.name);
    });

    it(`lets at most ${LIMIT} of a concurrent burst of 20 (10 on A, 10 on B) through`, async () => {
      const { onA: a, onB: b } = await limitedPair('burst');
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).refresh('not-a-token')),
      );
      const statuses = burst.map((res) => res.status);
      expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
      const passed = statuses.filter((status) => status === 401).length;
      expect({ passed, withinLimit: passed <= LIMIT }).toEqual({ passed, withinLimit: true });
      expect(passed).toBeGreaterThanOrEqual(1);
      // And the budget is spent for both instances afterwards.
      for (const on of [a, b]) expectTooManyRequests(await on.refresh('not-a-token'), on.name);
    });
  });
});
