import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Types, type HydratedDocument } from 'mongoose';

/** One document per login. Its id is the access token's `sid`; revoking it revokes every token of it. */
@Schema({ collection: 'sessions', timestamps: true })
export class Session {
  _id!: Types.ObjectId;

  @Prop({ type: Types.ObjectId, required: true })
  userId!: Types.ObjectId;

  /**
   * Which refresh token of the session is current: each rotation increments it. The token itself is
   * derived from (session id, generation) with an HMAC keyed by REFRESH_TOKEN_SECRET.
   */
  @Prop({ type: Number, required: true })
  generation!: number;

  /** SHA-256 of the current refresh token; the token itself is never stored. Absent once revoked. */
  @Prop({ type: String })
  refreshTokenHash?: string;

  /** When the session was created or last refreshed (not updated per request: that would be a write each). */
  @Prop({ type: Date, required: true })
  lastUsedAt!: Date;

  /** When the current generation replaced the previous one: start of REFRESH_REUSE_GRACE. */
  @Prop({ type: Date, default: null })
  rotatedAt!: Date | null;

  /** Renewed by each refresh (REFRESH_TOKEN_EXPIRY), never past absoluteExpiresAt. */
  @Prop({ type: Date, required: true })
  idleExpiresAt!: Date;

  /** createdAt + SESSION_MAX_LIFETIME. */
  @Prop({ type: Date, required: true })
  absoluteExpiresAt!: Date;

  /**
   * The user's credentials version when the session was created (or, for the session that changed the
   * password, after the change): a session of older credentials is never refreshed.
   */
  @Prop({ type: String, default: null })
  credentialsVersion!: string | null;

  @Prop({ type: Date, default: null })
  revokedAt!: Date | null;

  @Prop({ type: String, default: null })
  revokedReason!: string | null;

  @Prop({ type: String, default: null })
  userAgent!: string | null;

  @Prop({ type: String, default: null })
  ip!: string | null;

  createdAt!: Date;
  updatedAt!: Date;
}

export type SessionDocument = HydratedDocument<Session>;
export const SessionSchema = SchemaFactory.createForClass(Session);
SessionSchema.index({ userId: 1, createdAt: -1 }, { name: 'user_sessions' });
SessionSchema.index({ revokedAt: 1 }, { name: 'revoked_at' });
