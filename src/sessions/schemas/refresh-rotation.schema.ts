import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * The claim on rotating one generation of a session's refresh token. Its `_id` is
 * `<session id>:<generation>`, so of any number of concurrent refreshes with the same token exactly
 * one can insert it: primary-key uniqueness holds on every MongoDB-wire server, whereas a conditional
 * update is not atomic on all of them (FerretDB's SQLite backend loses concurrent updates).
 */
@Schema({ collection: 'refresh_rotations', versionKey: false })
export class RefreshRotation {
  @Prop({ type: String, required: true })
  _id!: string;

  @Prop({ type: Date, required: true })
  claimedAt!: Date;
}

export const RefreshRotationSchema = SchemaFactory.createForClass(RefreshRotation);
