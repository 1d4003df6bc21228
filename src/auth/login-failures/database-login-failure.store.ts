import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { LoginFailure } from './login-failure.schema';
import { LoginFailureStore, type AttemptReservation } from './login-failure.store';

/**
 * Attempts within the last LOGIN_FAILURE_WINDOW (a sliding window): the block lifts when the oldest
 * of them ages out.
 */
@Injectable()
export class DatabaseLoginFailureStore extends LoginFailureStore {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {
    super();
  }

  /**
   * Inserts the attempt, then counts the window with it included. Every attempt inserted earlier is
   * counted too, so among concurrent attempts at most `maxAttempts` see a count within the limit. A
   * refused attempt takes its document back: only checked passwords stay counted.
   */
  async reserve(key: string, now: Date, windowMs: number, maxAttempts: number): Promise<AttemptReservation> {
    const since = new Date(now.getTime() - windowMs);
    const attempt = await this.model.create({ key, at: now });
    const [count, oldest] = await Promise.all([
      this.model.countDocuments({ key, at: { $gt: since } }).exec(),
      this.model
        .findOne({ key, at: { $gt: since } }, { at: 1 })
        .sort({ at: 1 })
        .lean<LoginFailure>()
        .exec(),
    ]);
    const closesAt = new Date((oldest?.at ?? now).getTime() + windowMs);
    const refund = async () => void (await this.model.deleteOne({ _id: attempt._id }).exec());
    if (count <= maxAttempts) {
      // Keep the collection to what can still matter.
      await this.model.deleteMany({ key, at: { $lte: since } }).exec();
      return { allowed: true, closesAt, refund };
    }
    await refund();
    return { allowed: false, closesAt, refund: () => Promise.resolve() };
  }

  async clear(key: string): Promise<void> {
    await this.model.deleteMany({ key }).exec();
  }
}
