import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One request counted against a rate-limit key in one fixed window. A document per request rather
 * than a counter: inserts are atomic on every MongoDB-wire server, an $inc under contention is not on
 * all of them (FerretDB's SQLite backend loses concurrent updates).
 */
@Schema({ collection: 'rate_limit_hits', versionKey: false })
export class RateLimitHit {
  /** `<throttler key>:<window number>` */
  @Prop({ type: String, required: true })
  window!: string;

  @Prop({ type: Date, required: true })
  at!: Date;
}

export const RateLimitHitSchema = SchemaFactory.createForClass(RateLimitHit);
RateLimitHitSchema.index({ window: 1 }, { name: 'window' });
RateLimitHitSchema.index({ at: 1 }, { name: 'at' });
