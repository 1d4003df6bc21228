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
    const inWindow = { key, at: { $gt: since } };
    const attempt = await this.model.create({ key, at: now });
    const refund = async () => void (await this.model.deleteOne({ _id: attempt._id }).exec());
    if ((await this.model.countDocuments(inWindow).exec()) <= maxAttempts) {
      // Keep the collection to what can still matter; nobody needs to wait for that.
      void this.model
        .deleteMany({ key, at: { $lte: since } })
        .exec()
        .catch(() => undefined);
      return { allowed: true, closesAt: new Date(now.getTime() + windowMs), refund };
    }
    await refund();
    const oldest = await this.model.findOne(inWindow, { at: 1 }).sort({ at: 1 }).lean<LoginFailure>().exec();
    return {
      allowed: false,
      closesAt: new Date((oldest?.at ?? now).getTime() + windowMs),
      refund: () => Promise.resolve(),
    };
  }

  async clear(key: string): Promise<void> {
    await this.model.deleteMany({ key }).exec();
  }
}
