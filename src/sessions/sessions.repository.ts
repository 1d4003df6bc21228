import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, Types, type Model } from 'mongoose';
import { RefreshRotation } from './schemas/refresh-rotation.schema';
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
/** A rotation takes milliseconds; a claim this old without its write belongs to a request that died. */
const ABANDONED_CLAIM_MS = 30_000;

/** Live = not revoked and neither idle- nor absolutely expired at `now`. */
function liveFilter(now: Date) {
  return { revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } };
}

@Injectable()
export class SessionsRepository implements OnModuleInit {
  constructor(
    @InjectModel(Session.name) private readonly sessionModel: Model<Session>,
    @InjectModel(RefreshRotation.name) private readonly rotationModel: Model<RefreshRotation>,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.sessionModel.createIndexes();
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
    });
    return created.toObject();
  }

  /** The per-request check: one lookup by primary key, projecting nothing but the id. */
  async isLive(sessionId: string, userId: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const found = await this.sessionModel
      .exists({ _id: sessionId, userId: new Types.ObjectId(userId), ...liveFilter(now) })
      .exec();
    return found !== null;
  }

  /**
   * Moves the session from the presented refresh token to the next one, at most once per generation:
   * the session must be live with this generation and hash, and the claim `<session>:<generation>`
   * must be ours (an insert that only one request can win).
   */
  async rotateRefreshToken(rotation: RefreshRotationRequest): Promise<RotationAttempt> {
    const { now, sessionId, expectedGeneration } = rotation;
    if (!isValidObjectId(sessionId)) return { status: 'stale' };
    const current = await this.sessionModel
      .findOne({
        _id: sessionId,
        generation: expectedGeneration,
        refreshTokenHash: rotation.expectedHash,
        ...liveFilter(now),
      })
      .lean<SessionRecord>()
      .exec();
    if (!current) return { status: 'stale' };

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
    // write, the session does not stay stuck at a generation that is already claimed. Not
    // `revokedAt: null` in the filter on purpose: nothing here touches revokedAt, so a logout racing
    // with this refresh still wins, and liveness is checked on every use.
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

  /** Revokes and forgets the refresh token (`$unset`, not `$set: undefined`, which Mongoose drops). */
  async revoke(sessionId: string, reason: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId)) return false;
    const result = await this.sessionModel
      .updateOne({ _id: sessionId, revokedAt: null }, revocation(reason, now))
      .exec();
    return result.modifiedCount === 1;
  }

  /** Revokes the user's session `sessionId` if it is live; false when it is not the user's or not live. */
  async revokeLiveOfUser(sessionId: string, userId: string, reason: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const result = await this.sessionModel
      .updateOne({ _id: sessionId, userId: new Types.ObjectId(userId), ...liveFilter(now) }, revocation(reason, now))
      .exec();
    return result.modifiedCount === 1;
  }

  /**
   * Revokes every unrevoked session of the user but `exceptSessionId`, and returns their ids (the
   * shared revocation store needs them).
   */
  async revokeAllOfUser(userId: string, reason: string, now: Date, exceptSessionId?: string): Promise<string[]> {
    if (!isValidObjectId(userId)) return [];
    const owner = new Types.ObjectId(userId);
    const filter = {
      userId: owner,
      revokedAt: null,
      ...(exceptSessionId && isValidObjectId(exceptSessionId)
        ? { _id: { $ne: new Types.ObjectId(exceptSessionId) } }
        : {}),
    };
    const ids = (await this.sessionModel.find(filter, { _id: 1 }).lean<{ _id: Types.ObjectId }[]>().exec()).map(
      (s) => s._id,
    );
    if (ids.length > 0) {
      await this.sessionModel.updateMany({ _id: { $in: ids }, revokedAt: null }, revocation(reason, now)).exec();
    }
    return ids.map((id) => id.toHexString());
  }

  async listIdsRevokedSince(since: Date): Promise<string[]> {
    const sessions = await this.sessionModel
      .find({ revokedAt: { $gt: since } }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    return sessions.map((session) => session._id.toHexString());
  }

  listLiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    if (!isValidObjectId(userId)) return Promise.resolve([]);
    return this.sessionModel
      .find({ userId: new Types.ObjectId(userId), ...liveFilter(now) })
      .sort({ createdAt: -1, _id: -1 })
      .lean<SessionRecord[]>()
      .exec();
  }

  async deleteAllOfUser(userId: string): Promise<void> {
    if (!isValidObjectId(userId)) return;
    await this.sessionModel.deleteMany({ userId: new Types.ObjectId(userId) }).exec();
  }

  /** Removes sessions that can never be used again. Correctness never depends on it having run. */
  async deleteEnded(now: Date, revokedBefore: Date): Promise<number> {
    // A claim only matters while its rotation is in flight; a day is generous.
    await this.rotationModel.deleteMany({ claimedAt: { $lte: revokedBefore } }).exec();
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

  findById(sessionId: string): Promise<SessionRecord | null> {
    if (!isValidObjectId(sessionId)) return Promise.resolve(null);
    return this.sessionModel.findById(sessionId).lean<SessionRecord>().exec();
  }
}

function revocation(reason: string, now: Date) {
  return { $set: { revokedAt: now, revokedReason: reason }, $unset: { refreshTokenHash: 1 } };
}
