import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, Types, type Model } from 'mongoose';
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

/** What a rotation writes: the successor generation and its token's hash. */
export interface RotatedFields {
  generation: number;
  refreshTokenHash: string;
  lastUsedAt: Date;
  rotatedAt: Date;
  idleExpiresAt: Date;
}

/** What revoking a session needs of it. */
export type RevocationTarget = Pick<SessionRecord, '_id' | 'userId' | 'absoluteExpiresAt'>;

const REVOCATION_TARGET = { _id: 1, userId: 1, absoluteExpiresAt: 1 } as const;

/**
 * Live = not revoked and neither idle- nor absolutely expired at `now`. `revokedAt: null` here only
 * skips documents already known to be revoked: a revocation is certain when its SessionRevocation
 * record exists, which every liveness decision also checks.
 */
function liveFilter(now: Date) {
  return { revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } };
}

/** The sessions collection. Revocation records and rotation claims have repositories of their own. */
@Injectable()
export class SessionsRepository implements OnModuleInit {
  constructor(@InjectModel(Session.name) private readonly sessionModel: Model<Session>) {}

  async onModuleInit(): Promise<void> {
    await this.sessionModel.createIndexes();
  }

  async create(session: NewSession): Promise<SessionRecord> {
    const created = await this.sessionModel.create({
      _id: session.id,
      userId: new Types.ObjectId(session.userId),
      generation: 0,
      refreshTokenHash: session.refreshTokenHash,
      // The time the lifetimes were counted from (the Clock's), rather than the one Mongoose would stamp.
      createdAt: session.now,
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
   * The per-request lookup by primary key, projecting nothing but the id. Through the driver's
   * collection rather than a Mongoose query: on this path Mongoose's query building and its captured
   * stack trace cost more CPU than the lookup itself.
   */
  async existsLive(sessionId: Types.ObjectId, userId: Types.ObjectId, now: Date): Promise<boolean> {
    const found = await this.sessionModel.collection.findOne(
      { _id: sessionId, userId, ...liveFilter(now) },
      { projection: { _id: 1 } },
    );
    return found !== null;
  }

  /** The session if it is live and `generation` with `refreshTokenHash` is its current token. */
  findLiveAtGeneration(
    sessionId: string,
    generation: number,
    refreshTokenHash: string,
    now: Date,
  ): Promise<SessionRecord | null> {
    if (!isValidObjectId(sessionId)) return Promise.resolve(null);
    return this.sessionModel
      .findOne({ _id: sessionId, generation, refreshTokenHash, ...liveFilter(now) })
      .lean<SessionRecord>()
      .exec();
  }

  /** Moves the session from `fromGeneration` to its successor; false when it is no longer there. */
  async applyRotation(sessionId: string, fromGeneration: number, next: RotatedFields): Promise<boolean> {
    if (!isValidObjectId(sessionId)) return false;
    const result = await this.sessionModel
      .updateOne({ _id: sessionId, generation: fromGeneration }, { $set: next })
      .exec();
    return result.modifiedCount === 1;
  }

  findRevocationTarget(sessionId: string): Promise<RevocationTarget | null> {
    if (!isValidObjectId(sessionId)) return Promise.resolve(null);
    return this.sessionModel.findById(sessionId, REVOCATION_TARGET).lean<RevocationTarget>().exec();
  }

  /** The user's session `sessionId` if it is live. */
  findLiveRevocationTargetOfUser(sessionId: string, userId: string, now: Date): Promise<RevocationTarget | null> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return Promise.resolve(null);
    return this.sessionModel
      .findOne({ _id: sessionId, userId: new Types.ObjectId(userId), ...liveFilter(now) }, REVOCATION_TARGET)
      .lean<RevocationTarget>()
      .exec();
  }

  /** Every session of the user but `exceptSessionId`, revoked ones included (with `revokedAt`). */
  listRevocationTargetsOfUser(
    userId: string,
    exceptSessionId?: string,
  ): Promise<Array<RevocationTarget & Pick<SessionRecord, 'revokedAt'>>> {
    if (!isValidObjectId(userId)) return Promise.resolve([]);
    const filter = {
      userId: new Types.ObjectId(userId),
      ...(exceptSessionId && isValidObjectId(exceptSessionId)
        ? { _id: { $ne: new Types.ObjectId(exceptSessionId) } }
        : {}),
    };
    return this.sessionModel
      .find(filter, { ...REVOCATION_TARGET, revokedAt: 1 })
      .lean<Array<RevocationTarget & Pick<SessionRecord, 'revokedAt'>>>()
      .exec();
  }

  /** Marks the sessions revoked and forgets their refresh tokens; those marked already are left as they are. */
  async markRevoked(sessionIds: Types.ObjectId[], reason: string, now: Date): Promise<void> {
    if (sessionIds.length === 0) return;
    // One update per id rather than `_id: {$in}`: an equality on _id is served by its index on every
    // MongoDB-wire server, the embedded one included (which reads the whole collection for an $in).
    await this.sessionModel.bulkWrite(
      sessionIds.map((_id) => ({
        updateOne: {
          filter: { _id, revokedAt: null },
          update: { $set: { revokedAt: now, revokedReason: reason }, $unset: { refreshTokenHash: 1 as const } },
        },
      })),
      { ordered: false },
    );
  }

  /** The session that changed the password stays live: it takes the new credentials version. */
  async updateCredentialsVersion(sessionId: string, credentialsVersion: string): Promise<void> {
    if (!isValidObjectId(sessionId)) return;
    await this.sessionModel.updateOne({ _id: sessionId }, { $set: { credentialsVersion } }).exec();
  }

  /** The user's live sessions, newest first, as this collection knows them (revocation records aside). */
  listLiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    if (!isValidObjectId(userId)) return Promise.resolve([]);
    return this.sessionModel
      .find({ userId: new Types.ObjectId(userId), ...liveFilter(now) })
      .sort({ createdAt: -1, _id: -1 })
      .lean<SessionRecord[]>()
      .exec();
  }

  findById(sessionId: string): Promise<SessionRecord | null> {
    if (!isValidObjectId(sessionId)) return Promise.resolve(null);
    return this.sessionModel.findById(sessionId).lean<SessionRecord>().exec();
  }

  async deleteAllOfUser(userId: string): Promise<void> {
    if (!isValidObjectId(userId)) return;
    await this.sessionModel.deleteMany({ userId: new Types.ObjectId(userId) }).exec();
  }

  /** Removes sessions that can never be used again; returns how many. */
  async deleteEnded(now: Date, revokedBefore: Date): Promise<number> {
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
}
