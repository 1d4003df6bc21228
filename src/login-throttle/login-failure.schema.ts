import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One failed login for a (username, client address) pair. A document per failure: inserts are atomic
 * on every MongoDB-wire server, where a counter's $inc under contention is not on all of them.
 */
@Schema({ collection: 'login_failures', versionKey: false })
export class LoginFailure {
  /** `<username key>|<client address>` */
  @Prop({ type: String, required: true })
  key!: string;

  @Prop({ type: Date, required: true })
  at!: Date;
}

export const LoginFailureSchema = SchemaFactory.createForClass(LoginFailure);
LoginFailureSchema.index({ key: 1, at: -1 }, { name: 'key_at' });
LoginFailureSchema.index({ at: 1 }, { name: 'at' });
