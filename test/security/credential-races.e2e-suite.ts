import { PASSWORD, uniqueUsername, InstanceClient, listenOnLoopback, sleep, type Reply } from '../support/http';
import { createTestApp, sharedInstanceEnv, testRedisUrl, type TestApp } from '../support/test-app';
import { hashPasswordsAtProductionCost } from '../support/password-hash-cost';

/**
 * A credential change racing logins with the old credentials, on two instances sharing one database
 * (and Redis). A login reads the password hash, spends tens of milliseconds in argon2 (longer when it
 * queues behind other hashes), then creates its session: a password change or an account deletion
 * that revokes only the sessions existing when it runs would leave the sessions of logins in flight
 * alive, signed in with a password that no longer exists or for an account that is gone.
 * Sources: OWASP Session Management Cheat Sheet ("Renew the Session ID After Any Privilege Level
 * Change": a credential change ends the other sessions), ASVS 4.0 V3.3.3 (terminate all other
 * sessions after a successful password change), V3.3.1 and V8.3.2 (account deletion ends every
 * session), CWE-367 (time-of-check time-of-use race).
 * Property: once the change has answered, every login that answered 200 with the old password has a
 * session refused everywhere (401 on verify on both instances, on refresh); a racing login may
 * instead be refused (401). Positive controls: the changing caller's session and the new password work.
 */

jest.setTimeout(180_000);
// The race window is the time a login spends in argon2id.
hashPasswordsAtProductionCost();

/**
 * Two rounds: the change made once on each instance (the caller logged in on the other). Each round is
 * one burst of logins spread around the change, so that many are in flight (hashing, or queued for a
 * hash) when it answers; the run fails unless some overlapped it and were let in.
 */
const ROUNDS = 2;
const LOGINS_PER_ROUND = 20;
/** Fewer for deletion, to bound the run time: every login costs an argon2 verification. */
const LOGINS_PER_DELETION_ROUND = 12;
const NEW_PASSWORD = 'a different long passphrase';
const PROBES_AT_ONCE = 10;

interface Timed {
  res: Reply;
  sentAt: number;
  answeredAt: number;
}

async function timed(call: () => Promise<Reply>): Promise<Timed> {
  const sentAt = performance.now();
  const res = await call();
  return { res, sentAt, answeredAt: performance.now() };
}

/** 10 to 40 ms between logins, varied per login and per round, so that the race is hit at many offsets. */
const gapMs = (round: number, login: number) => 10 + ((login * 13 + round * 7) % 31);

describe.each([
  ['database mode (no REDIS_URL)', false],
  ['Redis mode (REDIS_URL on both)', true],
])(
  'security: credential change racing logins, two instances, %s (OWASP Session Management, ASVS 4.0 V3.3.3)',
  (_mode, withRedis) => {
    let a: TestApp;
    let b: TestApp;
    let onA: InstanceClient;
    let onB: InstanceClient;

    beforeAll(async () => {
      const env = sharedInstanceEnv(withRedis ? 'credraceredis' : 'credracedb', {
        REDIS_URL: withRedis ? testRedisUrl() : undefined,
        // Logins refused after the change count as failures; throttled ones (429) would not race at all.
        LOGIN_MAX_FAILURES: '1000000',
      });
      a = await createTestApp(env, 'credrace');
      b = await createTestApp(env, 'credrace');
      onA = await listenOnLoopback(a, 'A');
      onB = await listenOnLoopback(b, 'B');
    });
    afterAll(async () => {
      // One database for both: B only closes, A drops it.
      await b?.app.close();
      await a?.close();
    });

    /** A new user, and the session that will make the change. */
    async function userWithCaller(round: number) {
      const username = uniqueUsername('cr');
      expect((await onA.register(username, PASSWORD)).status).toBe(201);
      const caller = await (round % 2 ? onB : onA).login(username, PASSWORD);
      expect(caller.status).toBe(200);
      return { username, caller: caller.body as { accessToken: string; refreshToken: string } };
    }

    /**
     * `count` logins with the old password, the change sent once half of them are on their way;
     * resolves when every request has answered. Three logins in four go to the instance that does not
     * make the change, as an uneven load balancer would send them: their hashes queue there (one
     * argon2 at a time per instance) while the change, on the quieter instance, completes.
     */
    async function race(
      round: number,
      username: string,
      count: number,
      changeOn: InstanceClient,
      change: () => Promise<Reply>,
    ) {
      const other = changeOn === onA ? onB : onA;
      const logins: Array<Promise<Timed>> = [];
      let changed: Promise<Timed> | undefined;
      for (let i = 0; i < count; i += 1) {
        if (i === count / 2) changed = timed(change);
        const on = i % 4 === 0 ? changeOn : other;
        logins.push(timed(() => on.login(username, PASSWORD)));
        await sleep(gapMs(round, i));
      }
      return { logins: await Promise.all(logins), change: await changed! };
    }

    /** What a session of a raced login still gets: anything but 401 means it survived. */
    async function probe(tokens: { accessToken: string; refreshToken: string }, i: number, withMe: boolean) {
      const checks: Record<string, number> = {
        verifyA: (await onA.verify(tokens.accessToken)).status,
        verifyB: (await onB.verify(tokens.accessToken)).status,
      };
      if (withMe) {
        checks.meA = (await onA.me(tokens.accessToken)).status;
        checks.meB = (await onB.me(tokens.accessToken)).status;
      }
      checks.refresh = (await (i % 2 ? onA : onB).refresh(tokens.refreshToken)).status;
      return checks;
    }

    /** Runs the rounds; returns the survivors, the logins' statuses and how many overlapped the change. */
    async function runRounds(
      loginsPerRound: number,
      change: (caller: { accessToken: string }, on: InstanceClient) => Promise<Reply>,
      withMe: boolean,
      afterRound: (username: string, caller: { accessToken: string; refreshToken: string }) => Promise<void>,
    ) {
      const survivors: Record<number, number> = {};
      const examples: string[] = [];
      const loginStatuses: Record<number, number> = {};
      let overlapping = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        const { username, caller } = await userWithCaller(round);
        const changeOn = round % 2 ? onA : onB;
        const { logins, change: changed } = await race(round, username, loginsPerRound, changeOn, () =>
          change(caller, changeOn),
        );
        expect({ round, change: changed.res.status }).toEqual({ round, change: 204 });
        survivors[round] = 0;

        for (const login of logins) {
          loginStatuses[login.res.status] = (loginStatuses[login.res.status] ?? 0) + 1;
          if (login.sentAt < changed.answeredAt && login.answeredAt > changed.sentAt) overlapping += 1;
        }
        // Probed a few at a time: every check goes to the database or Redis, none hashes.
        const admitted = [...logins.entries()].filter(([, login]) => login.res.status === 200);
        for (let start = 0; start < admitted.length; start += PROBES_AT_ONCE) {
          const batch = admitted.slice(start, start + PROBES_AT_ONCE);
          const results = await Promise.all(batch.map(([i, login]) => probe(login.res.body, i, withMe)));
          for (const [n, checks] of results.entries()) {
            if (Object.values(checks).every((status) => status === 401)) continue;
            survivors[round] += 1;
            if (examples.length < 3) examples.push(`round ${round} login ${batch[n][0]}: ${JSON.stringify(checks)}`);
          }
        }
        await afterRound(username, caller);
      }
      return { survivors, examples, loginStatuses, overlapping };
    }

    it(`password change racing ${LOGINS_PER_ROUND} logins with the old password (${ROUNDS} rounds): no session of those logins survives`, async () => {
      const outcome = await runRounds(
        LOGINS_PER_ROUND,
        (caller, on) =>
          on.request('PATCH', '/api/users/me/password', {
            token: caller.accessToken,
            body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          }),
        false,
        async (username, caller) => {
          // Positive controls: the caller's session is kept, on both instances; the new password logs in.
          expect((await onA.verify(caller.accessToken)).status).toBe(204);
          expect((await onB.verify(caller.accessToken)).status).toBe(204);
          const fresh = await onB.login(username, NEW_PASSWORD);
          expect(fresh.status).toBe(200);
          expect((await onA.verify(fresh.body.accessToken)).status).toBe(204);
          expect((await onA.login(username, PASSWORD)).status).toBe(401);
        },
      );
      expectNoSurvivor(outcome);
    });

    it(`account deletion racing ${LOGINS_PER_DELETION_ROUND} logins (${ROUNDS} rounds): no session of those logins survives`, async () => {
      const outcome = await runRounds(
        LOGINS_PER_DELETION_ROUND,
        (caller, on) => on.request('DELETE', '/api/users/me', { token: caller.accessToken }),
        true,
        async (username, caller) => {
          expect((await onA.verify(caller.accessToken)).status).toBe(401);
          expect((await onB.login(username, PASSWORD)).status).toBe(401);
        },
      );
      expectNoSurvivor(outcome);
    });
  },
);

function expectNoSurvivor(outcome: {
  survivors: Record<number, number>;
  examples: string[];
  loginStatuses: Record<number, number>;
  overlapping: number;
}) {
  const { survivors, examples, loginStatuses, overlapping } = outcome;
  // The race was run: logins overlapped the change, and some were let in (the revocation was needed).
  expect(overlapping).toBeGreaterThan(0);
  expect(loginStatuses[200] ?? 0).toBeGreaterThan(0);
  // A login with the old password is let in (200) or refused (401); never a 5xx, never throttled.
  expect(Object.keys(loginStatuses).filter((status) => status !== '200' && status !== '401')).toEqual([]);
  const total = Object.values(survivors).reduce((sum, n) => sum + n, 0);
  expect({ total, perRound: survivors, loginStatuses, examples }).toEqual({
    total: 0,
    perRound: Object.fromEntries(Object.keys(survivors).map((round) => [round, 0])),
    loginStatuses,
    examples: [],
  });
}
