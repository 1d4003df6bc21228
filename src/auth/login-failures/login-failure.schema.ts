import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * Failed logins for one (username, client address) pair within the current window. Keyed by both so
 * that an attacker elsewhere cannot lock the real user out.
 */
@Schema({ collection: 'login_failures', versionKey: false })
export class LoginFailure {
  /** `<username key>|<client address>` */
  @Prop({ type: String, required: true })
  _id!: string;

  @Prop({ type: Number, required: true })
  count!: number;

  /** The window starts at the first failure and lasts LOGIN_FAILURE_WINDOW. */
  @Prop({ type: Date, required: true })
  closesAt!: Date;
}

export const LoginFailureSchema = SchemaFactory.createForClass(LoginFailure);
