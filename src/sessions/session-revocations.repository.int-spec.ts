import { Types } from 'mongoose';
import { SessionRevocation, SessionRevocationSchema } from './schemas/session-revocation.schema';
import { SessionRevocationsRepository, type RevokedSession } from './session-revocations.repository';
import { repositoryTestModule, type RepositoryTestModule } from '../../test/support/repository-test-module';

const MODELS = [{ name: SessionRevocation.name, schema: SessionRevocationSchema }];
const NOW = new Date();
const DAY = 86_400_000;

function session(userId = new Types.ObjectId(), absoluteExpiresAt = new Date(NOW.getTime() + DAY)): RevokedSession {
  return { _id: new Types.ObjectId(), userId, absoluteExpiresAt };
}

describe(SessionRevocationsRepository.name, () => {
  let db: RepositoryTestModule;
  let sut: SessionRevocationsRepository;

  beforeAll(async () => {
    db = await repositoryTestModule('revocations', MODELS, [SessionRevocationsRepository]);
    sut = db.module.get(SessionRevocationsRepository);
  });

  afterAll(() => db.close());

  describe('recordAll', () => {
    it('inserts a record once: revoking twice, or concurrently, reports only the first as revoked by this call', async () => {
      const [a, b] = [session(), session()];

      await expect(sut.recordAll([a], 'logout', NOW)).resolves.toEqual([true]);
      await expect(sut.recordAll([a, b], 'logout_all', NOW)).resolves.toEqual([false, true]);
      const concurrent = session();
      const results = await Promise.all([1, 2, 3].map(() => sut.recordAll([concurrent], 'logout', NOW)));
      expect(results.flat().filter(Boolean)).toHaveLength(1);

      const record = await db.connection.db!.collection('session_revocations').findOne({ _id: a._id });
      expect(record).toMatchObject({
        userId: a.userId,
        reason: 'logout',
        revokedAt: NOW,
        expiresAt: a.absoluteExpiresAt,
      });
      expect(record!.revokedMinute).toBe(NOW.toISOString().slice(0, 16));
    });
  });

  it('isRevoked and findRevokedAt tell a revoked session from one that is not', async () => {
    const [revoked, live] = [session(), session()];
    await sut.recordAll([revoked], 'logout', NOW);

    await expect(sut.isRevoked(revoked._id)).resolves.toBe(true);
    await expect(sut.isRevoked(live._id)).resolves.toBe(false);
    await expect(sut.findRevokedAt(revoked._id.toHexString())).resolves.toEqual(NOW);
    await expect(sut.findRevokedAt(live._id.toHexString())).resolves.toBeNull();
    await expect(sut.findRevokedAt('not-an-id')).resolves.toBeNull();
  });

  it("isRevokedOfUser is true only for the owner's revoked session", async () => {
    const owner = new Types.ObjectId();
    const revoked = session(owner);
    await sut.recordAll([revoked], 'logout', NOW);

    await expect(sut.isRevokedOfUser(revoked._id.toHexString(), owner.toHexString())).resolves.toBe(true);
    await expect(sut.isRevokedOfUser(revoked._id.toHexString(), new Types.ObjectId().toHexString())).resolves.toBe(
      false,
    );
    await expect(sut.isRevokedOfUser(session(owner)._id.toHexString(), owner.toHexString())).resolves.toBe(false);
    await expect(sut.isRevokedOfUser('bad', owner.toHexString())).resolves.toBe(false);
  });

  it('defines the indexes the recent-revocation lookup relies on', async () => {
    const names = (await db.connection.db!.collection('session_revocations').indexes()).map((index) => index.name);

    expect(names).toEqual(expect.arrayContaining(['revoked_at', 'revoked_minute']));
  });

  it('listRevokedAmong names only the revoked ones among the given sessions', async () => {
    const [revoked, live] = [session(), session()];
    await sut.recordAll([revoked], 'logout', NOW);

    await expect(sut.listRevokedAmong([revoked._id, live._id])).resolves.toEqual(new Set([revoked._id.toHexString()]));
    await expect(sut.listRevokedAmong([])).resolves.toEqual(new Set());
  });

  it('deleteExpired removes the records of sessions past their absolute expiry and keeps the others', async () => {
    const [ended, current] = [session(undefined, new Date(NOW.getTime() - 1)), session()];
    await sut.recordAll([ended, current], 'logout', NOW);

    await sut.deleteExpired(NOW);

    await expect(sut.isRevoked(ended._id)).resolves.toBe(false);
    await expect(sut.isRevoked(current._id)).resolves.toBe(true);
  });
});

/**
 * The recent revocations every instance looks up (with Redis: every two seconds, and after an outage)
 * are found by the minute they were filed under. Records written before that filing existed, or by an
 * instance whose clock runs ahead, must be found all the same.
 */
describe(`${SessionRevocationsRepository.name}.listIdsRevokedSince`, () => {
  let db: RepositoryTestModule;

  afterEach(() => db.close());

  const record = (revokedAt: Date, filed: boolean) => ({
    _id: new Types.ObjectId(),
    userId: new Types.ObjectId(),
    revokedAt,
    ...(filed ? { revokedMinute: revokedAt.toISOString().slice(0, 16) } : {}),
    reason: 'logout',
    expiresAt: new Date(Date.now() + DAY),
  });
  const ids = (...records: Array<{ _id: Types.ObjectId }>) => records.map((r) => r._id.toHexString()).sort();

  it('finds records of the window, those of an earlier version once an instance started, and those dated ahead', async () => {
    db = await repositoryTestModule('recentrevocations', MODELS, [SessionRevocationsRepository]);
    const now = Date.now();
    const old = record(new Date(now - 5 * 60_000), true);
    const recent = record(new Date(now - 10_000), true);
    const unfiled = record(new Date(now - 20_000), false);
    const ahead = record(new Date(now + 50_000), true);
    await db.connection.db!.collection('session_revocations').insertMany([old, recent, unfiled, ahead]);
    const sut = db.module.get(SessionRevocationsRepository);

    const since = new Date(now - 60_000);
    expect((await sut.listIdsRevokedSince(since, new Date(now))).sort()).toEqual(ids(recent, ahead));

    // A new instance files what an earlier version left unfiled when it starts.
    await sut.onModuleInit();
    expect((await sut.listIdsRevokedSince(since, new Date(now))).sort()).toEqual(ids(recent, unfiled, ahead));

    // Past an hour the window is read by its date range, unfiled records included.
    const long = await sut.listIdsRevokedSince(new Date(now - 2 * 3_600_000), new Date(now));
    expect(long.sort()).toEqual(ids(old, recent, unfiled, ahead));
  });
});
