import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { LoginFailure } from './login-failure.schema';
import { LoginFailureStore, type FailureWindow } from './login-failure.store';

/**
 * Failures within the last LOGIN_FAILURE_WINDOW (a sliding window): the block lifts when the oldest
 * of them ages out.
 */
@Injectable()
export class DatabaseLoginFailureStore extends LoginFailureStore {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {
    super();
  }

  async openWindow(key: string, now: Date, windowMs: number): Promise<FailureWindow | null> {
    const since = new Date(now.getTime() - windowMs);
    const [count, oldest] = await Promise.all([
      this.model.countDocuments({ key, at: { $gt: since } }).exec(),
      this.model
        .findOne({ key, at: { $gt: since } })
        .sort({ at: 1 })
        .lean<LoginFailure>()
        .exec(),
    ]);
    if (count === 0 || !oldest) return null;
    return { count, closesAt: new Date(oldest.at.getTime() + windowMs) };
  }

  async recordFailure(key: string, now: Date, windowMs: number): Promise<void> {
    await this.model.create({ key, at: now });
    // Keep the collection to what can still matter.
    await this.model.deleteMany({ key, at: { $lte: new Date(now.getTime() - windowMs) } }).exec();
  }

  async clear(key: string): Promise<void> {
    await this.model.deleteMany({ key }).exec();
  }
}
