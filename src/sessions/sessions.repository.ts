import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, Types, type Model } from 'mongoose';
import { RefreshRotation } from './schemas/refresh-rotation.schema';
import { minuteOf, SessionRevocation } from './schemas/session-revocation.schema';
import { Session } from './schemas/session.schema';

export type SessionRecord = Pick<
  Session,
  | '_id'
  | 'userId'
  | 'generation'
  | 'lastUsedAt'
  | 'rotatedAt'
  | 'idleExpiresAt'
  | 'absoluteExpiresAt'
  | 'revokedAt'
  | 'userAgent'
  | 'ip'
  | 'credentialsVersion'
  | 'createdAt'
>;

export interface NewSession {
  id: Types.ObjectId;
  userId: string;
  refreshTokenHash: string;
  now: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  userAgent: string | null;
  ip: string | null;
  credentialsVersion: string | null;
}

export interface RefreshRotationRequest {
  sessionId: string;
  /** The generation and hash of the token presented: the update happens only if both are current. */
  expectedGeneration: number;
  expectedHash: string;
  nextHash: string;
  now: Date;
  nextIdleExpiresAt: Date;
}

export type RotationAttempt =
  | { status: 'rotated'; session: SessionRecord }
  /** Another request rotated this generation first, at `claimedAt`. */
  | { status: 'claimed'; session: SessionRecord; claimedAt: Date }
  /** The session is not live at this generation with this token (superseded, revoked, ended, unknown). */
  | { status: 'stale' };

const DUPLICATE_KEY = 11000;
const MINUTE_MS = 60_000;
/** Up to an hour of revocations is looked up by the minutes it covers. */
const MAX_MINUTES_LISTED = 60;
/** A rotation takes milliseconds; a claim this old without its write belongs to a request that died. */
const ABANDONED_CLAIM_MS = 30_000;

/**
 * Live = not revoked and neither idle- nor absolutely expired at `now`. `revokedAt: null` here only
 * skips documents already known to be revoked: a revocation is certain when its SessionRevocation
 * record exists, which every liveness decision also checks.
 */
function liveFilter(now: Date) {
  return { revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } };
}

@Injectable()
export class SessionsRepository implements OnModuleInit {
  constructor(
    @InjectModel(Session.name) private readonly sessionModel: Model<Session>,
    @InjectModel(RefreshRotation.name) private readonly rotationModel: Model<RefreshRotation>,
    @InjectModel(SessionRevocation.name) private readonly revocationModel: Model<SessionRevocation>,
  ) {}

  async onModuleInit(): Promise<void> {
    await Promise.all([this.sessionModel.createIndexes(), this.revocationModel.createIndexes()]);
    await this.fileRevocationsByMinute();
  }

  /**
   * Revocation records written before they were filed by minute get their minute, so that the recent
   * ones are found (listIdsRevokedSince). Reads the collection once per start; writes only what lacks it.
   */
  private async fileRevocationsByMinute(): Promise<void> {
    const unfiled = await this.revocationModel
      .find({ revokedMinute: { $exists: false } }, { _id: 1, revokedAt: 1 })
      .lean<{ _id: Types.ObjectId; revokedAt: Date }[]>()
      .exec();
    if (unfiled.length === 0) return;
    await this.revocationModel.bulkWrite(
      unfiled.map((record) => ({
        updateOne: { filter: { _id: record._id }, update: { $set: { revokedMinute: minuteOf(record.revokedAt) } } },
      })),
      { ordered: false },
    );
  }

  async create(session: NewSession): Promise<SessionRecord> {
    const created = await this.sessionModel.create({
      _id: session.id,
      userId: new Types.ObjectId(session.userId),
      generation: 0,
      refreshTokenHash: session.refreshTokenHash,
      lastUsedAt: session.now,
      idleExpiresAt: session.idleExpiresAt,
      absoluteExpiresAt: session.absoluteExpiresAt,
      userAgent: session.userAgent,
      ip: session.ip,
      credentialsVersion: session.credentialsVersion,
    });
    return created.toObject();
  }

  /**
   * The per-request check: two lookups by primary key, side by side, projecting nothing but the id:
   * the session live, and no revocation record for it. Through the driver's collection rather than a
   * Mongoose query: on this path Mongoose's query building and its captured stack trace cost more CPU
   * than the lookups themselves (node --cpu-prof, database mode).
   */
  async isLive(sessionId: string, userId: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const _id = new Types.ObjectId(sessionId);
    const [found, revoked] = await Promise.all([
      this.sessionModel.collection.findOne(
        { _id, userId: new Types.ObjectId(userId), ...liveFilter(now) },
        { projection: { _id: 1 } },
      ),
      this.isRevoked(_id),
    ]);
    return found !== null && !revoked;
  }

  private async isRevoked(sessionId: Types.ObjectId): Promise<boolean> {
    return (await this.revocationModel.collection.findOne({ _id: sessionId }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * Records revocations, first the authoritative record (an insert per session), then the session
   * documents. Returns the ids this call revoked; those already revoked are left out.
   */
  private async recordRevocations(
    sessions: Array<Pick<SessionRecord, '_id' | 'userId' | 'absoluteExpiresAt'>>,
    reason: string,
    now: Date,
  ): Promise<Types.ObjectId[]> {
    if (sessions.length === 0) return [];
    const records = sessions.map((session) => ({
      _id: session._id,
      userId: session.userId,
      revokedAt: now,
      revokedMinute: minuteOf(now),
      reason,
      expiresAt: session.absoluteExpiresAt,
    }));
    // One insert each: a duplicate key means that session was revoked already (by a concurrent request).
    const inserted = await Promise.all(
      records.map((record) =>
        this.revocationModel.create(record).then(
          () => true,
          (error: unknown) => {
            if ((error as { code?: number }).code === DUPLICATE_KEY) return false;
            throw error;
          },
        ),
      ),
    );
    const ids = sessions.map((session) => session._id);
    // One update per id rather than `_id: {$in}`: an equality on _id is served by its index on every
    // MongoDB-wire server, the embedded one included (which reads the whole collection for an $in).
    await this.sessionModel.bulkWrite(
      ids.map((_id) => ({ updateOne: { filter: { _id, revokedAt: null }, update: revocation(reason, now) } })),
      { ordered: false },
    );
    return ids.filter((_id, index) => inserted[index]);
  }

  /**
   * Moves the session from the presented refresh token to the next one, at most once per generation:
   * the session must be live with this generation and hash, and the claim `<session>:<generation>`
   * must be ours (an insert that only one request can win).
   */
  async rotateRefreshToken(rotation: RefreshRotationRequest): Promise<RotationAttempt> {
    const { now, sessionId, expectedGeneration } = rotation;
    if (!isValidObjectId(sessionId)) return { status: 'stale' };
    const [current, revoked] = await Promise.all([
      this.sessionModel
        .findOne({
          _id: sessionId,
          generation: expectedGeneration,
          refreshTokenHash: rotation.expectedHash,
          ...liveFilter(now),
        })
        .lean<SessionRecord>()
        .exec(),
      this.isRevoked(new Types.ObjectId(sessionId)),
    ]);
    // A revocation recorded after this check still wins: the tokens issued below belong to a session
    // whose revocation record every later request and refresh finds.
    if (!current || revoked) return { status: 'stale' };

    const next = {
      generation: expectedGeneration + 1,
      refreshTokenHash: rotation.nextHash,
      lastUsedAt: now,
      rotatedAt: now,
      // The session stays bounded by absoluteExpiresAt: liveness checks both dates.
      idleExpiresAt: rotation.nextIdleExpiresAt,
    };
    // Applying the rotation is idempotent (the successor is derived from the generation), so a
    // request that lost the claim applies it too: if the winner died between its claim and this
    // write, the session does not stay stuck at a generation that is already claimed. A logout racing
    // with this write may see its `revokedAt` lost on FerretDB; its revocation record is not.
    const apply = () =>
      this.sessionModel.updateOne({ _id: sessionId, generation: expectedGeneration }, { $set: next }).exec();

    try {
      await this.rotationModel.create({ _id: `${sessionId}:${expectedGeneration}`, claimedAt: now });
    } catch (error) {
      if ((error as { code?: number }).code !== DUPLICATE_KEY) throw error;
      const claim = await this.rotationModel
        .findById(`${sessionId}:${expectedGeneration}`)
        .lean<RefreshRotation>()
        .exec();
      const claimedAt = claim?.claimedAt ?? now;
      const completed = (await apply()).modifiedCount === 1;
      // A claim long past whose rotation was never written: its request died. This one finished it,
      // so it counts as this request's own rotation rather than as reuse of a legitimate token.
      if (completed && now.getTime() - claimedAt.getTime() > ABANDONED_CLAIM_MS) {
        return { status: 'rotated', session: { ...current, ...next } };
      }
      return { status: 'claimed', session: { ...current, ...next }, claimedAt };
    }
    await apply();
    return { status: 'rotated', session: { ...current, ...next } };
  }

  /** Revokes and forgets the refresh token; false when it was revoked already or does not exist. */
  async revoke(sessionId: string, reason: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId)) return false;
    const session = await this.sessionModel
      .findById(sessionId, { _id: 1, userId: 1, absoluteExpiresAt: 1 })
      .lean<SessionRecord>()
      .exec();
    if (!session) return false;
    return (await this.recordRevocations([session], reason, now)).length === 1;
  }

  /** Revokes the user's session `sessionId` if it is live; false when it is not the user's or not live. */
  async revokeLiveOfUser(sessionId: string, userId: string, reason: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const session = await this.sessionModel
      .findOne(
        { _id: sessionId, userId: new Types.ObjectId(userId), ...liveFilter(now) },
        { _id: 1, userId: 1, absoluteExpiresAt: 1 },
      )
      .lean<SessionRecord>()
      .exec();
    if (!session) return false;
    return (await this.recordRevocations([session], reason, now)).length === 1;
  }

  /**
   * Revokes every session of the user but `exceptSessionId`, and returns the ids of all of them, those
   * revoked before included: the shared revocation store needs them, and a retry after a failed
   * publication must publish every one again.
   */
  async revokeAllOfUser(userId: string, reason: string, now: Date, exceptSessionId?: string): Promise<string[]> {
    if (!isValidObjectId(userId)) return [];
    const owner = new Types.ObjectId(userId);
    const filter = {
      userId: owner,
      ...(exceptSessionId && isValidObjectId(exceptSessionId)
        ? { _id: { $ne: new Types.ObjectId(exceptSessionId) } }
        : {}),
    };
    const sessions = await this.sessionModel
      .find(filter, { _id: 1, userId: 1, absoluteExpiresAt: 1, revokedAt: 1 })
      .lean<SessionRecord[]>()
      .exec();
    await this.recordRevocations(
      sessions.filter((session) => session.revokedAt === null),
      reason,
      now,
    );
    return sessions.map((session) => session._id.toHexString());
  }

  /** Whether the user owns this session and it is revoked: a retried revocation publishes it again. */
  async isRevokedOfUser(sessionId: string, userId: string): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const record = await this.revocationModel
      .findOne({ _id: new Types.ObjectId(sessionId), userId: new Types.ObjectId(userId) }, { _id: 1 })
      .lean()
      .exec();
    return record !== null;
  }

  /** The session that changed the password stays live: it takes the new credentials version. */
  async updateCredentialsVersion(sessionId: string, credentialsVersion: string): Promise<void> {
    if (!isValidObjectId(sessionId)) return;
    await this.sessionModel.updateOne({ _id: sessionId }, { $set: { credentialsVersion } }).exec();
  }

  /** Every instance asks this every few seconds for the last minute, and after an outage for longer. */
  async listIdsRevokedSince(since: Date, now = new Date()): Promise<string[]> {
    const minutes: string[] = [];
    // One minute past now: another instance's clock may run ahead of this one's.
    for (
      let at = since.getTime();
      at < now.getTime() + 2 * MINUTE_MS && minutes.length <= MAX_MINUTES_LISTED;
      at += MINUTE_MS
    )
      minutes.push(minuteOf(new Date(at)));
    // A short window by its minutes (an index equality everywhere); a long one, rare, by the range.
    const window = minutes.length <= MAX_MINUTES_LISTED ? { revokedMinute: { $in: minutes } } : {};
    const records = await this.revocationModel
      .find({ ...window, revokedAt: { $gt: since } }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    return records.map((record) => record._id.toHexString());
  }

  async listLiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    if (!isValidObjectId(userId)) return [];
    const sessions = await this.sessionModel
      .find({ userId: new Types.ObjectId(userId), ...liveFilter(now) })
      .sort({ createdAt: -1, _id: -1 })
      .lean<SessionRecord[]>()
      .exec();
    if (sessions.length === 0) return sessions;
    const revoked = await this.revocationModel
      .find({ _id: { $in: sessions.map((session) => session._id) } }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    const revokedIds = new Set(revoked.map((record) => record._id.toHexString()));
    return sessions.filter((session) => !revokedIds.has(session._id.toHexString()));
  }

  async deleteAllOfUser(userId: string): Promise<void> {
    if (!isValidObjectId(userId)) return;
    await this.sessionModel.deleteMany({ userId: new Types.ObjectId(userId) }).exec();
  }

  /** Removes sessions that can never be used again. Correctness never depends on it having run. */
  async deleteEnded(now: Date, revokedBefore: Date): Promise<number> {
    // A claim only matters while its rotation is in flight; a day is generous.
    await this.rotationModel.deleteMany({ claimedAt: { $lte: revokedBefore } }).exec();
    // Past its session's absolute expiry no session can be live: the record has nothing left to say.
    await this.revocationModel.deleteMany({ expiresAt: { $lte: now } }).exec();
    const result = await this.sessionModel
      .deleteMany({
        $or: [
          { idleExpiresAt: { $lte: now } },
          { absoluteExpiresAt: { $lte: now } },
          { revokedAt: { $lte: revokedBefore } },
        ],
      })
      .exec();
    return result.deletedCount;
  }

  /** The session, with `revokedAt` from its revocation record when there is one. */
  async findById(sessionId: string): Promise<SessionRecord | null> {
    if (!isValidObjectId(sessionId)) return null;
    const [session, revocation] = await Promise.all([
      this.sessionModel.findById(sessionId).lean<SessionRecord>().exec(),
      this.revocationModel.findById(sessionId, { revokedAt: 1 }).lean<{ revokedAt: Date }>().exec(),
    ]);
    if (!session || !revocation) return session;
    return { ...session, revokedAt: revocation.revokedAt };
  }
}

function revocation(reason: string, now: Date) {
  return { $set: { revokedAt: now, revokedReason: reason }, $unset: { refreshTokenHash: 1 as const } };
}
