import { performance } from 'node:perf_hooks';
import { jwtPayload, PASSWORD, sleep, uniqueUsername, type InstanceClient } from '../../support/http';
import { withNode } from '../../support/redis-processes';

/**
 * A Redis master replaced under steady verify traffic from two instances, with revocations that its
 * replica never received: the replica is stopped while the master acknowledges them, then the master
 * is killed (or, alive, taken over) and the replica is promoted without them. Shared by the Cluster
 * and Sentinel suites.
 */

export interface ProbeSession {
  sid: string;
  accessToken: string;
  refreshToken: string;
  /** When the logout's 200 arrived: from then on no check of this session may be accepted. */
  revokedAt?: number;
}

export interface VerifyRecord {
  sid: string;
  instance: string;
  sentAt: number;
  status: number | string;
}

export interface FailoverTopology {
  instances: [InstanceClient, InstanceClient];
  /** The port of the master that holds this session's keys. */
  masterOf(sessionId: string): Promise<number>;
  /** Stops (SIGSTOP) the replica of this master. */
  pauseReplicaOf(master: number): Promise<void>;
  /** Kills the master (or has its replica take over), and resumes the replica. */
  replaceMaster(master: number): Promise<void>;
  /** Whether the replica about to be promoted holds the revocation marker of this session. */
  replicaHasMarker(sessionId: string): Promise<boolean>;
  /** Resolves once the Redis side has failed over (a replica promoted, every slot served). */
  promoted(): Promise<void>;
}

/** The key the service marks a revoked session with. */
export const revocationMarker = (sessionId: string) => `slj:session:{${sessionId}}:revoked`;

export interface FailoverReport {
  records: VerifyRecord[];
  sessions: ProbeSession[];
  /** Revoked while the replica was stopped, just before the kill: acknowledged by the master only. */
  lateRevoked: ProbeSession[];
  lateMarkersOnReplica: boolean[];
  /** A logout sent right after the kill: 200, or 503 and then retried after the recovery. */
  outageLogoutStatus: number;
  redisFailoverMs: number;
  /** From the kill until every session is answered right by both instances again (a full pass of checks). */
  recoveryMs: number;
  /** From the kill until the last check that was refused (503) was sent. */
  lastRefusalMs: number;
  /** After recovery: a live session refused, a revoked one accepted, a refresh that failed. */
  finalMismatches: string[];
}

const now = () => performance.now();
const SESSIONS = 18;
const LOOPS = 3;
/** Between two checks of one loop: steady traffic, without starving the other suites of CPU. */
const PACE_MS = 10;

export async function exerciseFailover(topology: FailoverTopology): Promise<FailoverReport> {
  const [a, b] = topology.instances;
  const sessions = await logInSessions(a, b);
  for (const [index, session] of sessions.entries()) if (index % 3 === 1) await logOut(index % 2 ? a : b, session);
  // The master holding most of the live sessions: 12 over at most three masters, so 4 or more (three
  // logged out just before it is replaced, one during the outage).
  const byMaster = new Map<number, ProbeSession[]>();
  for (const session of sessions.filter((s) => s.revokedAt === undefined)) {
    const master = await topology.masterOf(session.sid);
    byMaster.set(master, [...(byMaster.get(master) ?? []), session]);
  }
  const [victim, victims] = [...byMaster].sort(([, x], [, y]) => y.length - x.length)[0];

  const load = new VerifyLoad([a, b], sessions);
  try {
    await sleep(500);
    await topology.pauseReplicaOf(victim);
    await cutReplicationLink(victim);
    const lateRevoked = victims.slice(0, 3);
    for (const session of lateRevoked) await logOut(a, session);
    const replacedAt = now();
    await topology.replaceMaster(victim);
    const lateMarkersOnReplica = await Promise.all(lateRevoked.map((s) => topology.replicaHasMarker(s.sid)));

    const duringOutage = victims[3];
    const outageLogoutStatus = (await b.request('POST', '/api/auth/logout', { token: duringOutage.accessToken }))
      .status;
    if (outageLogoutStatus === 200) duringOutage.revokedAt = now();

    await topology.promoted();
    const redisFailoverMs = now() - replacedAt;
    await untilAnsweredRight([a, b], sessions, 30_000);
    const recoveryMs = now() - replacedAt;
    // The logout refused with 503 is what a client retries.
    if (duringOutage.revokedAt === undefined) await logOut(a, duringOutage);
    await sleep(500);
    await load.stop();
    const refusals = load.records.filter((record) => record.status === 503).map((record) => record.sentAt);
    return {
      records: load.records,
      lastRefusalMs: refusals.length ? Math.max(...refusals) - replacedAt : 0,
      sessions,
      lateRevoked,
      lateMarkersOnReplica,
      outageLogoutStatus,
      redisFailoverMs,
      recoveryMs,
      finalMismatches: await finalMismatches([a, b], sessions),
    };
  } finally {
    await load.stop();
  }
}

/**
 * Stopped, a replica would still find in its socket what its master sends meanwhile: the link is cut,
 * and the master refuses to serve it a resynchronisation afterwards.
 */
async function cutReplicationLink(master: number): Promise<void> {
  await withNode(master, async (node) => {
    await node.call('ACL', 'SETUSER', 'default', '-psync', '-sync');
    await node.call('CLIENT', 'KILL', 'TYPE', 'replica');
  });
}

/** Checks accepted after their session's logout was answered: the one outcome that must never happen. */
function acceptedAfterRevocation(report: FailoverReport): VerifyRecord[] {
  const revokedAt = new Map(report.sessions.map((s) => [s.sid, s.revokedAt]));
  return report.records.filter((r) => r.status === 204 && r.sentAt >= (revokedAt.get(r.sid) ?? Infinity));
}

/** The tests of one failover: `report` is filled by the suite's beforeAll. */
export function itKeepsTheFailoverGuarantees(label: string, report: () => FailoverReport): void {
  it('the promoted replica lacked the revocations acknowledged just before the master was replaced (the premise)', () => {
    expect(report().lateRevoked).toHaveLength(3);
    expect(report().lateMarkersOnReplica).toEqual([false, false, false]);
  });

  it('accepts no revoked token at any time: 0 checks answered 204 after their logout', () => {
    expect(acceptedAfterRevocation(report())).toEqual([]);
  });

  it('answers only 204, 401 or 503 meanwhile, and 503 until Redis has the revocations again', () => {
    const { records } = report();
    const statuses = new Set(records.map((record) => record.status));
    expect([...statuses].filter((status) => ![204, 401, 503].includes(status as number))).toEqual([]);
    expect(records.filter((record) => record.status === 503).length).toBeGreaterThan(0);
    expect(records.length).toBeGreaterThan(100);
  });

  it('loses no session: every live one is accepted and refreshes on both instances after the recovery', () => {
    const { records, sessions, finalMismatches } = report();
    const live = new Set(sessions.filter((s) => s.revokedAt === undefined).map((s) => s.sid));
    expect(records.filter((record) => record.status === 401 && live.has(record.sid))).toEqual([]);
    expect(finalMismatches).toEqual([]);
  });

  it('takes a logout during the outage (200), or refuses it with 503 so that the client retries', () => {
    const { records, outageLogoutStatus, redisFailoverMs, recoveryMs, lastRefusalMs } = report();
    expect([200, 503]).toContain(outageLogoutStatus);
    process.stderr.write(
      `[${label}] ${records.length} checks; Redis failed over ${Math.round(redisFailoverMs)} ms after the master was replaced, ` +
        `last 503 sent at ${Math.round(lastRefusalMs)} ms, every session answered right again at ${Math.round(recoveryMs)} ms; ` +
        `503s: ${records.filter((r) => r.status === 503).length}; logout during the outage: ${outageLogoutStatus}\n`,
    );
  });
}

async function logInSessions(a: InstanceClient, b: InstanceClient): Promise<ProbeSession[]> {
  // Six users side by side, each one's logins one after another (concurrent logins of one user from one
  // address share its failed-login budget while they are checked).
  const perUser = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const username = uniqueUsername('failover');
      expectOk(await a.register(username, PASSWORD), 201, 'register');
      const sessions: ProbeSession[] = [];
      for (let i = 0; i < SESSIONS / 6; i++) {
        const res = await (i % 2 ? a : b).login(username, PASSWORD);
        expectOk(res, 200, 'login');
        const { accessToken, refreshToken } = res.body as { accessToken: string; refreshToken: string };
        sessions.push({ sid: jwtPayload(accessToken).sid as string, accessToken, refreshToken });
      }
      return sessions;
    }),
  );
  return perUser.flat();
}

async function logOut(on: InstanceClient, session: ProbeSession): Promise<void> {
  expectOk(await on.request('POST', '/api/auth/logout', { token: session.accessToken }), 200, 'logout');
  session.revokedAt = now();
}

function expectOk(res: { status: number; text?: string }, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what} answered ${res.status}, not ${status}: ${res.text ?? ''}`);
}

/** Loops that verify every session's access token, round robin over the sessions and the instances. */
class VerifyLoad {
  readonly records: VerifyRecord[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly instances: InstanceClient[],
    private readonly sessions: ProbeSession[],
  ) {
    this.loops = Array.from({ length: LOOPS }, (_, loop) => this.run(loop));
  }

  private async run(loop: number): Promise<void> {
    for (let n = loop; this.running; n += LOOPS) {
      const session = this.sessions[n % this.sessions.length];
      const instance = this.instances[Math.floor(n / this.sessions.length) % this.instances.length];
      const sentAt = now();
      const status = await instance.verify(session.accessToken).then(
        (res) => res.status,
        (error: Error) => error.message,
      );
      this.records.push({ sid: session.sid, instance: instance.name, sentAt, status });
      // A refusal, or an app that is gone, is not retried in a tight loop either.
      await sleep(status === 204 || status === 401 ? PACE_MS : 2 * PACE_MS);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

function expectedStatus(session: ProbeSession): number {
  return session.revokedAt === undefined ? 204 : 401;
}

async function untilAnsweredRight(instances: InstanceClient[], sessions: ProbeSession[], timeoutMs: number) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const wrong: string[] = [];
    for (const instance of instances)
      for (const session of sessions) {
        const status = (await instance.verify(session.accessToken)).status;
        if (status !== expectedStatus(session)) wrong.push(`${instance.name}:${session.sid}:${status}`);
      }
    if (wrong.length === 0) return;
    if (now() > deadline) throw new Error(`not recovered within ${timeoutMs} ms: ${wrong.slice(0, 5).join(', ')}`);
    await sleep(100);
  }
}

async function finalMismatches(instances: InstanceClient[], sessions: ProbeSession[]): Promise<string[]> {
  const [a, b] = instances;
  const mismatches: string[] = [];
  for (const session of sessions) {
    for (const instance of instances) {
      const status = (await instance.verify(session.accessToken)).status;
      if (status !== expectedStatus(session)) mismatches.push(`verify ${session.sid} on ${instance.name}: ${status}`);
    }
    const refreshed = await a.refresh(session.refreshToken);
    const expected = session.revokedAt === undefined ? 200 : 401;
    if (refreshed.status !== expected) mismatches.push(`refresh ${session.sid}: ${refreshed.status}`);
    if (refreshed.status === 200) {
      const next = (await b.verify((refreshed.body as { accessToken: string }).accessToken)).status;
      if (next !== 204) mismatches.push(`rotated token of ${session.sid} on ${b.name}: ${next}`);
    }
  }
  return mismatches;
}
