import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, Types, type Model } from 'mongoose';
import { isDuplicateKey } from '../common/database/duplicate-key';
import { minuteOf, SessionRevocation } from './schemas/session-revocation.schema';

/** What a revocation record keeps of its session. */
export interface RevokedSession {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  absoluteExpiresAt: Date;
}

const MINUTE_MS = 60_000;
/** Up to an hour of revocations is looked up by the minutes it covers. */
const MAX_MINUTES_LISTED = 60;

/** The session_revocations collection: the authoritative record that a session is revoked. */
@Injectable()
export class SessionRevocationsRepository implements OnModuleInit {
  constructor(@InjectModel(SessionRevocation.name) private readonly revocationModel: Model<SessionRevocation>) {}

  async onModuleInit(): Promise<void> {
    await this.revocationModel.createIndexes();
    await this.fileByMinute();
  }

  /**
   * Revocation records written before they were filed by minute get their minute, so that the recent
   * ones are found (listIdsRevokedSince). Reads the collection once per start; writes only what lacks it.
   */
  private async fileByMinute(): Promise<void> {
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

  /**
   * Inserts one record per session; for each, whether this call inserted it (false: a concurrent
   * request revoked it first, the duplicate key says so).
   */
  recordAll(sessions: RevokedSession[], reason: string, now: Date): Promise<boolean[]> {
    return Promise.all(
      sessions.map((session) =>
        this.revocationModel
          .create({
            _id: session._id,
            userId: session.userId,
            revokedAt: now,
            revokedMinute: minuteOf(now),
            reason,
            expiresAt: session.absoluteExpiresAt,
          })
          .then(
            () => true,
            (error: unknown) => {
              if (isDuplicateKey(error)) return false;
              throw error;
            },
          ),
      ),
    );
  }

  /** By primary key, through the driver: it is on the per-request path (see SessionLedger.isLive). */
  async isRevoked(sessionId: Types.ObjectId): Promise<boolean> {
    return (await this.revocationModel.collection.findOne({ _id: sessionId }, { projection: { _id: 1 } })) !== null;
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

  /** When the session was revoked; null when it was not. */
  async findRevokedAt(sessionId: string): Promise<Date | null> {
    if (!isValidObjectId(sessionId)) return null;
    const record = await this.revocationModel.findById(sessionId, { revokedAt: 1 }).lean<{ revokedAt: Date }>().exec();
    return record?.revokedAt ?? null;
  }

  /** The hex ids, among these sessions, of those revoked. */
  async listRevokedAmong(sessionIds: Types.ObjectId[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const revoked = await this.revocationModel
      .find({ _id: { $in: sessionIds } }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    return new Set(revoked.map((record) => record._id.toHexString()));
  }

  /** Every instance asks this every few seconds for the last minute, and after an outage for longer. */
  async listIdsRevokedSince(since: Date, now: Date): Promise<string[]> {
    return (await this.listRevokedSince(since, now)).map((record) => record.sessionId);
  }

  /** The revocations recorded after `since`, oldest first: the revocation feed's source. */
  async listRevokedSince(since: Date, now: Date): Promise<Array<{ sessionId: string; revokedAt: Date }>> {
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
      .find({ ...window, revokedAt: { $gt: since } }, { _id: 1, revokedAt: 1 })
      .lean<{ _id: Types.ObjectId; revokedAt: Date }[]>()
      .exec();
    return records
      .map((record) => ({ sessionId: record._id.toHexString(), revokedAt: record.revokedAt }))
      .sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime());
  }

  /** Past its session's absolute expiry no session can be live: the record has nothing left to say. */
  async deleteExpired(now: Date): Promise<void> {
    await this.revocationModel.deleteMany({ expiresAt: { $lte: now } }).exec();
  }
}
