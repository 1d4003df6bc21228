import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument, Types } from 'mongoose';

export const ROLE_USER = 'user';
export const ROLE_ADMIN = 'admin';

@Schema({ collection: 'users', timestamps: true })
export class User {
  _id!: Types.ObjectId;

  /** As the user typed it: what the API shows. */
  @Prop({ type: String, required: true })
  username!: string;

  /**
   * NFKC-normalised and lower-cased: what uniqueness is decided on. A separate field rather than a
   * case-insensitive collation, because collations are not supported by every MongoDB-wire server.
   */
  @Prop({ type: String, required: true })
  usernameKey!: string;

  @Prop({ type: String, required: true })
  passwordHash!: string;

  @Prop({ type: [String], required: true })
  roles!: string[];

  /**
   * Replaced by every password change. Sessions record the version they were created with, so that a
   * login whose password was checked just before a change can tell that it lost the race.
   */
  @Prop({ type: String, default: null })
  credentialsVersion!: string | null;

  createdAt!: Date;
  updatedAt!: Date;
}

export type UserDocument = HydratedDocument<User>;
export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ usernameKey: 1 }, { unique: true, name: 'username_key_unique' });

export function toUsernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}
