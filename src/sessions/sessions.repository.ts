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

export interface RefreshRotation {
  sessionId: string;
  /** The generation and hash of the token presented: the update happens only if both are current. */
  expectedGeneration: number;
  expectedHash: string;
  nextHash: string;
  now: Date;
  nextIdleExpiresAt: Date;
}

/** Live = not revoked and neither idle- nor absolutely expired at `now`. */
function liveFilter(now: Date) {
  return { revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } };
}

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
   * Compare-and-set: moves the session to the next refresh token only if the presented one is still
   * the current one. Of two concurrent refreshes with the same token, exactly one matches.
   */
  rotateRefreshToken(rotation: RefreshRotation): Promise<SessionRecord | null> {
    const { now } = rotation;
    return this.sessionModel
      .findOneAndUpdate(
        {
          _id: rotation.sessionId,
          generation: rotation.expectedGeneration,
          refreshTokenHash: rotation.expectedHash,
          ...liveFilter(now),
        },
        {
          $inc: { generation: 1 },
          // The session stays bounded by absoluteExpiresAt: liveness checks both dates.
          $set: { refreshTokenHash: rotation.nextHash, lastUsedAt: now, idleExpiresAt: rotation.nextIdleExpiresAt },
        },
        { new: true },
      )
      .lean<SessionRecord>()
      .exec();
  }

  /** Revokes and forgets the refresh token (`$unset`, not `$set: undefined`, which Mongoose drops). */
  async revoke(sessionId: string, reason: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId)) return false;
    const result = await this.sessionModel
      .updateOne(
        { _id: sessionId, revokedAt: null },
        { $set: { revokedAt: now, revokedReason: reason }, $unset: { refreshTokenHash: 1 } },
      )
      .exec();
    return result.modifiedCount === 1;
  }

  findById(sessionId: string): Promise<SessionRecord | null> {
    if (!isValidObjectId(sessionId)) return Promise.resolve(null);
    return this.sessionModel.findById(sessionId).lean<SessionRecord>().exec();
  }
}
