import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** Requests counted for one throttler key in its current fixed window. */
@Schema({ collection: 'rate_limit_windows', versionKey: false })
export class RateLimitWindow {
  @Prop({ type: String, required: true })
  _id!: string;

  @Prop({ type: Number, required: true })
  hits!: number;

  @Prop({ type: Date, required: true })
  endsAt!: Date;
}

export const RateLimitWindowSchema = SchemaFactory.createForClass(RateLimitWindow);
