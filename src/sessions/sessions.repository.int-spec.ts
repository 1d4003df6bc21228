import { Types } from 'mongoose';
import { Session, SessionSchema } from './schemas/session.schema';
import { SessionsRepository, type NewSession } from './sessions.repository';
import { repositoryTestModule, type RepositoryTestModule } from '../../test/support/repository-test-module';

const HOUR = 3_600_000;
const NOW = new Date();
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

describe(SessionsRepository.name, () => {
  let db: RepositoryTestModule;
  let sut: SessionsRepository;
  let userId: string;

  beforeAll(async () => {
    db = await repositoryTestModule('sessions', [{ name: Session.name, schema: SessionSchema }], [SessionsRepository]);
    sut = db.module.get(SessionsRepository);
  });

  afterAll(() => db.close());

  beforeEach(() => {
    userId = new Types.ObjectId().toHexString();
  });

  function start(overrides: Partial<NewSession> = {}) {
    return sut.create({
      id: new Types.ObjectId(),
      userId,
      refreshTokenHash: 'hash-0',
      now: NOW,
      idleExpiresAt: at(2 * HOUR),
      absoluteExpiresAt: at(10 * HOUR),
      userAgent: 'agent',
      ip: '203.0.113.7',
      credentialsVersion: 'v1',
      ...overrides,
    });
  }
  const hex = (session: { _id: Types.ObjectId }) => session._id.toHexString();

  it('creates a session at generation 0, dated at the given time, and finds it by id', async () => {
    // Not the time Mongoose would stamp: the (Clock's) time the session's lifetimes are counted from.
    const startedAt = at(-HOUR);
    const created = await start({ now: startedAt });

    expect(created).toMatchObject({
      generation: 0,
      userId: new Types.ObjectId(userId),
      revokedAt: null,
      ip: '203.0.113.7',
      createdAt: startedAt,
      lastUsedAt: startedAt,
    });
    await expect(sut.findById(hex(created))).resolves.toMatchObject({
      _id: created._id,
      credentialsVersion: 'v1',
      createdAt: startedAt,
    });
    await expect(sut.findById('nope')).resolves.toBeNull();
  });

  it("existsLive is true for the user's live session only: not another user's, an expired or a revoked one", async () => {
    const live = await start();
    const idleOver = await start({ idleExpiresAt: at(-1) });
    const revoked = await start();
    await sut.markRevoked([revoked._id], 'logout', NOW);
    const owner = new Types.ObjectId(userId);

    await expect(sut.existsLive(live._id, owner, NOW)).resolves.toBe(true);
    await expect(sut.existsLive(live._id, new Types.ObjectId(), NOW)).resolves.toBe(false);
    await expect(sut.existsLive(live._id, owner, at(10 * HOUR))).resolves.toBe(false);
    await expect(sut.existsLive(idleOver._id, owner, NOW)).resolves.toBe(false);
    await expect(sut.existsLive(revoked._id, owner, NOW)).resolves.toBe(false);
  });

  it('findLiveAtGeneration and applyRotation move a session to its successor once', async () => {
    const session = await start();
    const next = {
      generation: 1,
      refreshTokenHash: 'hash-1',
      lastUsedAt: at(1),
      rotatedAt: at(1),
      idleExpiresAt: at(3 * HOUR),
    };

    await expect(sut.findLiveAtGeneration(hex(session), 0, 'hash-0', NOW)).resolves.toMatchObject({ _id: session._id });
    await expect(sut.findLiveAtGeneration(hex(session), 0, 'other-hash', NOW)).resolves.toBeNull();
    await expect(sut.applyRotation(hex(session), 0, next)).resolves.toBe(true);
    await expect(sut.applyRotation(hex(session), 0, next)).resolves.toBe(false);
    await expect(sut.findLiveAtGeneration(hex(session), 0, 'hash-0', NOW)).resolves.toBeNull();
    await expect(sut.findLiveAtGeneration(hex(session), 1, 'hash-1', NOW)).resolves.toMatchObject(next);
  });

  it('markRevoked revokes once, keeps the first reason and forgets the refresh token', async () => {
    const session = await start();

    await sut.markRevoked([session._id], 'logout', NOW);
    await sut.markRevoked([session._id], 'logout_all', at(1));

    const stored = await db.connection.db!.collection('sessions').findOne({ _id: session._id });
    expect(stored).toMatchObject({ revokedAt: NOW, revokedReason: 'logout' });
    expect(stored).not.toHaveProperty('refreshTokenHash');
  });

  it('findRevocationTarget and findLiveRevocationTargetOfUser give what a revocation needs, the latter only if live and owned', async () => {
    const session = await start();
    const target = { _id: session._id, userId: session.userId, absoluteExpiresAt: session.absoluteExpiresAt };

    await expect(sut.findRevocationTarget(hex(session))).resolves.toEqual(target);
    await expect(sut.findLiveRevocationTargetOfUser(hex(session), userId, NOW)).resolves.toEqual(target);
    await expect(
      sut.findLiveRevocationTargetOfUser(hex(session), new Types.ObjectId().toHexString(), NOW),
    ).resolves.toBeNull();
    await sut.markRevoked([session._id], 'logout', NOW);
    await expect(sut.findLiveRevocationTargetOfUser(hex(session), userId, NOW)).resolves.toBeNull();
    await expect(sut.findRevocationTarget(hex(session))).resolves.toEqual(target);
  });

  it('listRevocationTargetsOfUser lists every session of the user but the one excepted, revoked ones included', async () => {
    const [kept, other, revoked] = [await start(), await start(), await start()];
    await sut.markRevoked([revoked._id], 'logout', NOW);
    await start({ userId: new Types.ObjectId().toHexString() });

    const listed = await sut.listRevocationTargetsOfUser(userId, hex(kept));

    expect(listed.map(hex).sort()).toEqual([hex(other), hex(revoked)].sort());
    expect(listed.find((each) => hex(each) === hex(revoked))!.revokedAt).toEqual(NOW);
  });

  it("listLiveOfUser lists the user's live sessions, newest first", async () => {
    const older = await start();
    const newer = await start();
    await sut.markRevoked([(await start())._id], 'logout', NOW);
    await start({ absoluteExpiresAt: at(-1) });

    await expect(sut.listLiveOfUser(userId, NOW).then((list) => list.map(hex))).resolves.toEqual([
      hex(newer),
      hex(older),
    ]);
  });

  it('updateCredentialsVersion changes that session only', async () => {
    const [changed, other] = [await start(), await start()];

    await sut.updateCredentialsVersion(hex(changed), 'v2');

    await expect(sut.findById(hex(changed))).resolves.toMatchObject({ credentialsVersion: 'v2' });
    await expect(sut.findById(hex(other))).resolves.toMatchObject({ credentialsVersion: 'v1' });
  });

  it("deleteAllOfUser deletes the user's sessions and nobody else's", async () => {
    const mine = await start();
    const theirs = await start({ userId: new Types.ObjectId().toHexString() });

    await sut.deleteAllOfUser(userId);

    await expect(sut.findById(hex(mine))).resolves.toBeNull();
    await expect(sut.findById(hex(theirs))).resolves.not.toBeNull();
  });

  it('deleteEnded removes expired sessions and those revoked before the cutoff, and keeps live ones', async () => {
    const live = await start();
    const idleOver = await start({ idleExpiresAt: at(-1) });
    const absoluteOver = await start({ absoluteExpiresAt: at(-1) });
    const revokedLongAgo = await start();
    await sut.markRevoked([revokedLongAgo._id], 'logout', at(-2 * HOUR));
    const revokedRecently = await start();
    await sut.markRevoked([revokedRecently._id], 'logout', NOW);

    await expect(sut.deleteEnded(NOW, at(-HOUR))).resolves.toBeGreaterThanOrEqual(3);

    for (const gone of [idleOver, absoluteOver, revokedLongAgo])
      await expect(sut.findById(hex(gone))).resolves.toBeNull();
    for (const kept of [live, revokedRecently]) await expect(sut.findById(hex(kept))).resolves.not.toBeNull();
  });

  it('defines the indexes the lookups rely on', async () => {
    const names = (await db.connection.db!.collection('sessions').indexes()).map((index) => index.name);

    expect(names).toEqual(expect.arrayContaining(['user_sessions', 'revoked_at']));
  });
});
