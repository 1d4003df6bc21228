import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Types } from 'mongoose';

/**
 * The authoritative record that a session is revoked: inserted once, never updated. Its `_id` is the
 * session's. An insert is atomic on every MongoDB-wire server, whereas FerretDB's SQLite backend loses
 * one of two overlapping updates of a document: a refresh's write of the session could put back the
 * `revokedAt: null` a concurrent logout had just written (measured: 200 of 200 overlapping pairs lost
 * one update). `sessions.revokedAt` is still written, for listing and purging, but liveness is decided
 * by the absence of this record.
 */
@Schema({ collection: 'session_revocations', versionKey: false })
export class SessionRevocation {
  // No @Prop: Mongoose's own ObjectId _id, which casts the hex strings queries pass (a @Prop of type
  // ObjectId on _id would make it Mixed, and a string would never match).
  _id!: Types.ObjectId;

  @Prop({ type: Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  @Prop({ type: Date, required: true })
  revokedAt!: Date;

  /**
   * `revokedAt`'s minute (UTC, `2026-01-31T23:59`): the recent revocations are a few equalities on it,
   * which every MongoDB-wire server serves from its index, the embedded one included (which reads the
   * whole collection for a range).
   */
  @Prop({ type: String, required: true })
  revokedMinute!: string;

  @Prop({ type: String, required: true })
  reason!: string;

  /** The session's absolute expiry: after it the session cannot be live anyway, and this may go. */
  @Prop({ type: Date, required: true })
  expiresAt!: Date;
}

export const SessionRevocationSchema = SchemaFactory.createForClass(SessionRevocation);
SessionRevocationSchema.index({ revokedAt: 1 }, { name: 'revoked_at' });
SessionRevocationSchema.index({ revokedMinute: 1 }, { name: 'revoked_minute' });

/** The minute a revocation at `at` is filed under. */
export function minuteOf(at: Date): string {
  return at.toISOString().slice(0, 16);
}
