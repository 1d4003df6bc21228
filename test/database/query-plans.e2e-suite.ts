import { mongo, Types } from 'mongoose';
import { createTestApp, type TestApp } from '../support/test-app';
import { jwtPayload, login, registerAndLogin, type LoggedIn, bearer } from '../support/http';
import { testClock } from '../support/test-clock';
import { SessionRevocationsRepository } from '../../src/sessions/session-revocations.repository';

/**
 * Every query that the access-token check (database mode) and a refresh send is served by an index:
 * with many sessions a query that reads the whole collection makes every request slower. The
 * commands are the app's own, captured with the driver's command monitoring, and each filter is
 * explained on the same collection. On FerretDB (SQLite) the filter must be pushed down and the plan a
 * `SEARCH ... USING INDEX`; on MongoDB the winning plan must use an index. No timing is measured.
 */

const COLLECTIONS = new Set(['sessions', 'session_revocations', 'refresh_rotations', 'users']);
/** Sessions of other users, so that reading the whole collection is a real alternative to the index. */
const OTHER_SESSIONS = 3000;

interface SentCommand {
  command: string;
  collection: string;
  body: Record<string, unknown>;
}

/** The filters a command selects documents with (each statement of an update or delete). */
function filtersOf(command: string, body: Record<string, unknown>): Record<string, unknown>[] {
  switch (command) {
    case 'find':
      return [body.filter as Record<string, unknown>];
    case 'count':
    case 'findAndModify':
      return [body.query as Record<string, unknown>];
    case 'update':
    case 'delete':
      return ((body[`${command}s`] as { q: Record<string, unknown> }[]) ?? []).map((statement) => statement.q);
    default:
      throw new Error(`No filter known for the ${command} command: add it to this test`);
  }
}

/** The `stage` names anywhere in a MongoDB winning plan (classic or slot-based explain output). */
function stagesOf(node: unknown): string[] {
  if (node === null || typeof node !== 'object') return [];
  const own = typeof (node as { stage?: unknown }).stage === 'string' ? [(node as { stage: string }).stage] : [];
  return [...own, ...Object.values(node).flatMap(stagesOf)];
}

/** Whether the explained query is served by an index, with the plan for the failure message. */
function planVerdict(explained: Record<string, unknown>): { indexed: boolean; plan: unknown } {
  const planner = explained.queryPlanner as { Plan?: unknown; winningPlan?: unknown } | undefined;
  if (Array.isArray(planner?.Plan)) {
    // FerretDB: the rows of SQLite's EXPLAIN QUERY PLAN for the part of the filter it pushed down.
    const rows = planner.Plan as string[];
    const indexed =
      explained.filterPushdown === true &&
      rows.some((row) => /\bSEARCH \S+ USING (COVERING )?INDEX\b/.test(row)) &&
      !rows.some((row) => /\bSCAN\b/.test(row));
    return { indexed, plan: { filterPushdown: explained.filterPushdown, rows } };
  }
  const stages = stagesOf(planner?.winningPlan);
  const indexed =
    !stages.includes('COLLSCAN') && stages.some((stage) => ['IDHACK', 'EXPRESS_IXSCAN', 'IXSCAN'].includes(stage));
  return { indexed, plan: stages };
}

/** The URI with the driver's command monitoring on, so that the app's client reports its commands. */
function monitored(uri: string): string {
  if (uri.includes('?')) return `${uri}&monitorCommands=true`;
  return `${uri}${/^[^:]+:\/\/[^/]*$/.test(uri) ? '/' : ''}?monitorCommands=true`;
}

describe('database queries of the access-token check, of a refresh and of the rest of a session', () => {
  let t: TestApp;
  let user: LoggedIn;
  let capturing = false;
  const sent: SentCommand[] = [];

  beforeAll(async () => {
    const uri = process.env.MONGODB_URI;
    if (!uri) throw new Error('No MONGODB_URI: the Jest global setup did not run');
    // No REDIS_URL: the access-token check reads the database on every request.
    t = await createTestApp({ MONGODB_URI: monitored(uri), REDIS_URL: undefined }, 'queryplans');
    t.connection.getClient().on('commandStarted', (event: mongo.CommandStartedEvent) => {
      const collection = event.command[event.commandName] as unknown;
      if (!capturing || event.databaseName !== t.dbName || !COLLECTIONS.has(collection as string)) return;
      sent.push({ command: event.commandName, collection: collection as string, body: event.command });
    });
    user = await registerAndLogin(t);

    const db = t.connection.db!;
    const later = new Date(testClock.now() + 86_400_000);
    await db.collection('sessions').insertMany(
      Array.from({ length: OTHER_SESSIONS }, () => ({
        _id: new Types.ObjectId(),
        userId: new Types.ObjectId(),
        generation: 0,
        refreshTokenHash: 'x',
        revokedAt: null,
        idleExpiresAt: later,
        absoluteExpiresAt: later,
      })),
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The requests, sent while capturing; the rotation claim of the second refresh is taken first. */
  async function sendRequests(): Promise<void> {
    const sid = jwtPayload(user.accessToken).sid as string;
    const refresh = (refreshToken: string) => t.http().post('/api/auth/refresh').send({ refreshToken });
    capturing = true;
    for (let i = 0; i < 3; i++) {
      expect((await t.http().get('/api/auth/verify').set('Authorization', bearer(user.accessToken))).status).toBe(204);
    }
    const rotated = await refresh(user.refreshToken);
    expect(rotated.status).toBe(200);

    // As if a concurrent refresh had claimed this generation: the claim is then looked up.
    capturing = false;
    const db = t.connection.db!;
    const session = await db.collection('sessions').findOne({ _id: new Types.ObjectId(sid) });
    await db
      .collection<{ _id: string; claimedAt: Date }>('refresh_rotations')
      .insertOne({ _id: `${sid}:${session!.generation as number}`, claimedAt: new Date(testClock.now()) });
    capturing = true;
    expect((await refresh(rotated.body.refreshToken as string)).status).toBe(200);
    // The same token again, now superseded, within the grace: the session is read by id.
    expect((await refresh(rotated.body.refreshToken as string)).status).toBe(200);
    capturing = false;
  }

  /** Explains every captured filter on its collection; returns those no index serves. */
  async function queriesNotIndexed(): Promise<unknown[]> {
    // Inserts select nothing; every other command is checked, or fails here when its filter is unknown.
    const queries = sent
      .filter(({ command }) => command !== 'insert')
      .flatMap(({ command, collection, body }) =>
        filtersOf(command, body).map((filter) => ({ command, collection, filter })),
      );
    const notIndexed = [];
    for (const query of queries) {
      const explained = await t.connection.db!.command({
        explain: { find: query.collection, filter: query.filter },
        verbosity: 'queryPlanner',
      });
      const verdict = planVerdict(explained);
      if (!verdict.indexed) notIndexed.push({ ...query, filter: mongo.BSON.EJSON.stringify(query.filter), ...verdict });
    }
    return notIndexed;
  }

  const kindsSent = () => [...new Set(sent.map((query) => `${query.command} ${query.collection}`))];

  it('sends only queries that an index serves for verify and refresh', async () => {
    sent.length = 0;
    await sendRequests();

    // The capture itself works: the queries this test is about were seen.
    expect(kindsSent()).toEqual(
      expect.arrayContaining([
        'find sessions',
        'find session_revocations',
        'update sessions',
        'find refresh_rotations',
        'find users',
      ]),
    );
    expect(await queriesNotIndexed()).toEqual([]);
  });

  it('sends only queries that an index serves for login, the session list, logouts and a password change', async () => {
    sent.length = 0;
    capturing = true;
    const second = await login(t, user.username, user.password, user.userId);
    const third = await login(t, user.username, user.password, user.userId);
    const auth = (session: LoggedIn) => bearer(session.accessToken);
    expect((await t.http().get('/api/auth/sessions').set('Authorization', auth(second))).status).toBe(200);
    expect((await t.http().post('/api/auth/logout').set('Authorization', auth(third))).status).toBe(200);
    const changed = await t
      .http()
      .patch('/api/users/me/password')
      .set('Authorization', auth(second))
      .send({ currentPassword: user.password, newPassword: `${user.password} changed` });
    expect(changed.status).toBe(204);
    expect((await t.http().post('/api/auth/logout-all').set('Authorization', auth(second))).status).toBe(200);
    // What every instance asks every few seconds with Redis: the revocations of the last minute (app time).
    const now = testClock.now();
    const recent = await t.app
      .get(SessionRevocationsRepository)
      .listIdsRevokedSince(new Date(now - 60_000), new Date(now));
    capturing = false;

    expect(recent).toEqual(expect.arrayContaining([jwtPayload(third.accessToken).sid]));
    expect(kindsSent()).toEqual(
      expect.arrayContaining(['find users', 'find sessions', 'update sessions', 'find session_revocations']),
    );
    expect(await queriesNotIndexed()).toEqual([]);
  });
});
