import Redis from 'ioredis';
import { findFreePort } from '../support/free-port';
import {
  jwtPayload,
  PASSWORD,
  sleep,
  uniqueUsername,
  InstanceClient,
  listenOnLoopback,
  type Reply,
} from '../support/http';
import { pollWhile } from '../faults/support/outage-harness';
import { startRedis, type RunningRedis } from '../support/redis-server';
import { createTestApp, sharedInstanceEnv, type TestApp } from '../support/test-app';

/**
 * A Redis that stays connected and answers reads but refuses every write: out of memory under
 * `noeviction`, or turned into a read-only replica. A revocation is written to the database, then to
 * Redis (`revoked` set, `live` deleted), and each request is checked against Redis; a refused write
 * must not leave the revoked session accepted (its `live` key is still there), and a retried
 * revocation must not answer success without having published anything.
 * Sources: OWASP Session Management Cheat Sheet (session expiration and logout enforced server-side),
 * ASVS 4.0 V3.3.1 (logout invalidates the session), V3.3.3, OWASP Error Handling / CWE-636 (fail
 * closed, not open, when a dependency cannot do its part).
 * Property: while writes are refused, a revocation answers 503 and instance A answers 503 to every
 * check, revoked or live; no revoked token is ever accepted (204) after its revocation was sent; once
 * writes are accepted again and the failed requests are retried, every revoked token gets 401 on A
 * and on B. Positive controls: an untouched session and the sessions the revocations kept answer 204
 * again, a fresh login works.
 */

jest.setTimeout(90_000);

const NEW_PASSWORD = 'a different long passphrase';
/** How long an instance may answer 503 after Redis accepts writes again (its re-publication). */
const RECOVERY_BOUND_MS = 20_000;

interface Fault {
  refuse(admin: Redis): Promise<void>;
  restore(admin: Redis): Promise<void>;
}

const FAULTS: Array<[string, Fault]> = [
  [
    'out of memory (maxmemory 1, noeviction): every write refused with OOM',
    {
      async refuse(admin) {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1');
      },
      restore: async (admin) => void (await admin.config('SET', 'maxmemory', '0')),
    },
  ],
  [
    'a replica of a closed port (REPLICAOF): every write refused with READONLY, reads served',
    {
      refuse: async (admin) => void (await admin.call('REPLICAOF', '127.0.0.1', String(await findFreePort()))),
      restore: async (admin) => void (await admin.call('REPLICAOF', 'NO', 'ONE')),
    },
  ],
];

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

interface Revocation {
  name: string;
  send(): Promise<Reply>;
  /** What a client does after a 503: the same request again (see the password change). */
  retry(): Promise<Reply>;
  /** Answers a retry may get: success, or already revoked (the first attempt had reached the database). */
  retryOk: number[];
  victims: Array<[string, Tokens]>;
}

/** Repeats `call` while it answers 503, for at most RECOVERY_BOUND_MS; the last answer. */
const untilServed = (call: () => Promise<Reply>): Promise<Reply> => pollWhile(call, RECOVERY_BOUND_MS);

describe.each(FAULTS)('security: Redis refusing writes while connected, %s', (_fault, fault) => {
  let redis: RunningRedis;
  let admin: Redis;
  let a: TestApp;
  let b: TestApp;
  let onA: InstanceClient;
  let onB: InstanceClient;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const env = sharedInstanceEnv('rediswrites', { REDIS_URL: redis.url, LOGIN_MAX_FAILURES: '1000000' });
    a = await createTestApp(env, 'rediswrites');
    b = await createTestApp(env, 'rediswrites');
    onA = await listenOnLoopback(a, 'A');
    onB = await listenOnLoopback(b, 'B');
  });
  afterAll(async () => {
    // One database for both: B only closes, A drops it.
    await b?.app.close();
    await a?.close();
    await admin?.quit().catch(() => admin.disconnect());
    await redis?.stop();
  });

  async function newUser(prefix: string): Promise<string> {
    const username = uniqueUsername(prefix);
    expect((await onA.register(username, PASSWORD)).status).toBe(201);
    return username;
  }

  async function loginOn(on: InstanceClient, username: string): Promise<Tokens> {
    const res = await on.login(username, PASSWORD);
    expect(res.status).toBe(200);
    return res.body as Tokens;
  }

  const logout = (name: string, victim: Tokens): Revocation => ({
    name,
    send: () => onA.request('POST', '/api/auth/logout', { token: victim.accessToken }),
    retry: () => onA.request('POST', '/api/auth/logout', { token: victim.accessToken }),
    retryOk: [200, 401],
    victims: [[name, victim]],
  });

  const deleteSession = (name: string, caller: Tokens, victim: Tokens): Revocation => {
    const send = () =>
      onA.request('DELETE', `/api/auth/sessions/${String(jwtPayload(victim.accessToken).sid)}`, {
        token: caller.accessToken,
      });
    return { name, send, retry: send, retryOk: [204, 404], victims: [[name, victim]] };
  };

  /** The sessions (made on both instances) and the revocations, all sent to A: the instance that sees the fault. */
  async function revocations(): Promise<{
    done: Revocation;
    racing: Revocation[];
    during: Revocation[];
    kept: Tokens[];
  }> {
    const logouts = await Promise.all([1, 2, 3, 4].map(async (n) => loginOn(onA, await newUser(`lo${n}`))));
    const devicesOwner = await newUser('dev');
    const [deviceCaller, device1, device2] = [
      await loginOn(onA, devicesOwner),
      await loginOn(onB, devicesOwner),
      await loginOn(onA, devicesOwner),
    ];
    const allOwner = await newUser('all');
    const everywhere = [await loginOn(onA, allOwner), await loginOn(onB, allOwner), await loginOn(onA, allOwner)];
    const changer = await newUser('pw');
    const [changeCaller, other1, other2] = [
      await loginOn(onA, changer),
      await loginOn(onB, changer),
      await loginOn(onA, changer),
    ];
    const changePassword = (currentPassword: string) =>
      onA.request('PATCH', '/api/users/me/password', {
        token: changeCaller.accessToken,
        body: { currentPassword, newPassword: NEW_PASSWORD },
      });
    const passwordChange: Revocation = {
      name: 'password change',
      send: () => changePassword(PASSWORD),
      // The same request again; a server that refuses it because its first attempt did change the
      // password (403) gets the confirmation a client would then send, with the password now in force.
      retry: async () => {
        const same = await changePassword(PASSWORD);
        return same.status === 403 ? changePassword(NEW_PASSWORD) : same;
      },
      retryOk: [204],
      victims: [
        ['password change: other session 1', other1],
        ['password change: other session 2', other2],
      ],
    };
    const logoutAll: Revocation = {
      name: 'logout-all',
      send: () => onA.request('POST', '/api/auth/logout-all', { token: everywhere[0].accessToken }),
      retry: () => onA.request('POST', '/api/auth/logout-all', { token: everywhere[0].accessToken }),
      retryOk: [200, 401],
      victims: everywhere.map((tokens, n): [string, Tokens] => [`logout-all: session ${n + 1}`, tokens]),
    };
    return {
      done: logout('logout 1', logouts[0]),
      racing: [logout('logout 2', logouts[1]), deleteSession('delete session 1', deviceCaller, device1)],
      during: [
        logout('logout 3', logouts[2]),
        deleteSession('delete session 2', deviceCaller, device2),
        logoutAll,
        logout('logout 4', logouts[3]),
        passwordChange,
      ],
      kept: [deviceCaller, changeCaller],
    };
  }

  it('fails closed while writes are refused, on A at once and on B within seconds, and no revoked token is accepted after recovery', async () => {
    const bystander = await loginOn(onA, await newUser('by'));
    const { done, racing, during, kept } = await revocations();
    const all = [done, ...racing, ...during];
    const victims = all.flatMap((revocation) => revocation.victims);
    for (const [name, tokens] of victims)
      expect({ name, verify: (await onA.verify(tokens.accessToken)).status }).toEqual({ name, verify: 204 });

    // A burst of revocations with the fault fired in its middle: one answered before it, two racing
    // it, the rest sent once Redis refuses writes.
    const answers = new Map<Revocation, Promise<Reply>>();
    const doneBeforeFault = (await done.send()).status;
    for (const revocation of racing) {
      answers.set(revocation, revocation.send());
      await sleep(3);
    }
    await fault.refuse(admin);
    const writeRefused = await admin.set('slj:test:write-probe', '1').then(
      () => false,
      () => true,
    );
    for (const revocation of during) {
      answers.set(revocation, revocation.send());
      await sleep(3);
    }
    const status = new Map<Revocation, number>();
    for (const [revocation, answer] of answers) status.set(revocation, (await answer).status);

    const acceptedRevoked: string[] = [];
    const victimsDuringFault: Record<string, number> = {};
    for (const [name, tokens] of victims) {
      victimsDuringFault[name] = (await onA.verify(tokens.accessToken)).status;
      if (victimsDuringFault[name] === 204) acceptedRevoked.push(`${name}: verify on A while writes were refused`);
    }
    const bystanderDuringFault = (await onA.verify(bystander.accessToken)).status;
    // B answered none of those revocations: it learns from its catch-up (every 2 s) that Redis lacks
    // them, fails to publish them too, and fails closed in turn.
    const bystanderOnBDuringFault = (
      await pollWhile(() => onB.verify(bystander.accessToken), 8_000, { again: (res) => res.status !== 503 })
    ).status;
    const victimsOnBOnceClosed: Record<string, number> = {};
    for (const [name, tokens] of victims) victimsOnBOnceClosed[name] = (await onB.verify(tokens.accessToken)).status;

    await fault.restore(admin);
    const writeAcceptedAgain = await admin.set('slj:test:write-probe', '1').then(
      () => true,
      () => false,
    );
    const retries: Record<string, number> = {};
    for (const [revocation, answered] of status) {
      if (answered < 300) continue;
      retries[revocation.name] = (await untilServed(() => revocation.retry())).status;
    }
    const bystanderRecovered = (await untilServed(() => onA.verify(bystander.accessToken))).status;
    await untilServed(() => onB.verify(bystander.accessToken));

    const revokedNot401: string[] = [];
    for (const [name, tokens] of victims) {
      const checks = {
        'verify A': (await onA.verify(tokens.accessToken)).status,
        'verify B': (await onB.verify(tokens.accessToken)).status,
        'users/me A': (await onA.me(tokens.accessToken)).status,
        refresh: (await onB.refresh(tokens.refreshToken)).status,
      };
      for (const [check, answer] of Object.entries(checks)) {
        if (answer !== 401) revokedNot401.push(`${name}: ${check} ${answer}`);
        if (answer >= 200 && answer < 300) acceptedRevoked.push(`${name}: ${check} after recovery`);
      }
    }
    const fresh = await onB.login(await newUser('fresh'), PASSWORD);

    const statuses = (list: Revocation[]) => Object.fromEntries(list.map((r) => [r.name, status.get(r)!]));
    const retryOk = Object.fromEntries(all.map((r) => [r.name, r.retryOk]));
    expect({
      writeRefused,
      writeAcceptedAgain,
      doneBeforeFault,
      // Sent as the fault began: either outcome.
      racedFault: statuses(racing),
      // Sent once Redis refused writes: 503, never a success that Redis does not back.
      sentDuringFault: statuses(during),
      // Fail closed: A cannot tell which revocations reached Redis, so it refuses every check.
      bystanderDuringFault,
      victimsDuringFault,
      bystanderOnBDuringFault,
      victimsOnBOnceClosed,
      retries,
      acceptedRevoked: { count: acceptedRevoked.length, which: acceptedRevoked },
      revokedNot401,
      // Positive controls: the untouched session, the sessions the revocations kept, a fresh login.
      bystanderRecovered,
      bystanderOnB: (await onB.verify(bystander.accessToken)).status,
      kept: await Promise.all(
        kept.flatMap((tokens) => [onA, onB].map(async (on) => (await on.verify(tokens.accessToken)).status)),
      ),
      freshLogin: fresh.status,
      freshVerifiedOnA: (await onA.verify(fresh.body?.accessToken ?? '')).status,
    }).toEqual({
      writeRefused: true,
      writeAcceptedAgain: true,
      doneBeforeFault: 200,
      racedFault: oneOfEach(statuses(racing), () => [200, 204, 503]),
      sentDuringFault: Object.fromEntries(during.map((r) => [r.name, 503])),
      bystanderDuringFault: 503,
      victimsDuringFault: oneOfEach(victimsDuringFault, () => [401, 503]),
      bystanderOnBDuringFault: 503,
      victimsOnBOnceClosed: oneOfEach(victimsOnBOnceClosed, () => [503]),
      retries: oneOfEach(retries, (name) => retryOk[name]),
      acceptedRevoked: { count: 0, which: [] },
      revokedNot401: [],
      bystanderRecovered: 204,
      bystanderOnB: 204,
      kept: [204, 204, 204, 204],
      freshLogin: 200,
      freshVerifiedOnA: 204,
    });
  });
});

/** The expected side of a map of statuses: each as it is when allowed, else the allowed ones. */
function oneOfEach(actual: Record<string, number>, allowed: (name: string) => number[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(actual).map(([name, got]) => {
      const ok = allowed(name);
      return [name, ok.includes(got) ? got : `one of ${ok.join(', ')}`];
    }),
  );
}
