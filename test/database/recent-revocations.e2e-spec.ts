import { Types } from 'mongoose';
import { SessionsRepository } from '../../src/sessions/sessions.repository';
import { createTestApp, uniqueDbName, type TestApp } from '../support/test-app';

/**
 * The recent revocations every instance looks up (with Redis: every two seconds, and after an outage)
 * are found by the minute they were filed under. Records written before that filing existed, or by an
 * instance whose clock runs ahead, must be found all the same.
 */
describe('SessionsRepository.listIdsRevokedSince on the real database', () => {
  const dbName = uniqueDbName('recentrevocations');
  const apps: TestApp[] = [];

  afterEach(async () => {
    // The first one drops the database when it closes.
    for (const app of apps.reverse()) await app.close();
  });

  const record = (revokedAt: Date, filed: boolean) => ({
    _id: new Types.ObjectId(),
    userId: new Types.ObjectId(),
    revokedAt,
    ...(filed ? { revokedMinute: revokedAt.toISOString().slice(0, 16) } : {}),
    reason: 'logout',
    expiresAt: new Date(Date.now() + 86_400_000),
  });

  it('finds records of the window, those of an earlier version once an instance started, and those dated ahead', async () => {
    const t = await createTestApp({ MONGODB_DB_NAME: dbName }, 'recentrevocations');
    apps.push(t);
    const now = Date.now();
    const old = record(new Date(now - 5 * 60_000), true);
    const recent = record(new Date(now - 10_000), true);
    const unfiled = record(new Date(now - 20_000), false);
    const ahead = record(new Date(now + 50_000), true);
    await t.connection.db!.collection('session_revocations').insertMany([old, recent, unfiled, ahead]);

    const since = new Date(now - 60_000);
    const before = await t.app.get(SessionsRepository).listIdsRevokedSince(since, new Date(now));
    expect(before.sort()).toEqual([recent, ahead].map((r) => r._id.toHexString()).sort());

    // A new instance files what an earlier version left unfiled when it starts.
    const started = await createTestApp({ MONGODB_DB_NAME: dbName }, 'recentrevocations');
    apps.push(started);
    const after = await t.app.get(SessionsRepository).listIdsRevokedSince(since, new Date(now));
    expect(after.sort()).toEqual([recent, unfiled, ahead].map((r) => r._id.toHexString()).sort());

    // Past an hour the window is read by its date range, unfiled records included.
    const long = await t.app.get(SessionsRepository).listIdsRevokedSince(new Date(now - 2 * 3_600_000), new Date(now));
    expect(long.sort()).toEqual([old, recent, unfiled, ahead].map((r) => r._id.toHexString()).sort());
  });
});
