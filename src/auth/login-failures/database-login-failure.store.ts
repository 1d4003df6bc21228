import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { LoginFailure } from './login-failure.schema';
import { LoginFailureStore, type FailureWindow } from './login-failure.store';

@Injectable()
export class DatabaseLoginFailureStore extends LoginFailureStore {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {
    super();
  }

  async openWindow(key: string, now: Date): Promise<FailureWindow | null> {
    const window = await this.model.findOne({ _id: key, closesAt: { $gt: now } }).lean<LoginFailure>().exec();
    return window ? { count: window.count, closesAt: window.closesAt } : null;
  }

  /**
   * Counts one failure: into the open window with an atomic $inc, or by starting a new window. Two
   * failures racing to start a window may count as one; the limit is a brake, not a ledger.
   */
  async recordFailure(key: string, now: Date, windowMs: number): Promise<void> {
    const counted = await this.model.updateOne({ _id: key, closesAt: { $gt: now } }, { $inc: { count: 1 } }).exec();
    if (counted.matchedCount === 1) return;
    await this.model
      .updateOne({ _id: key }, { $set: { count: 1, closesAt: new Date(now.getTime() + windowMs) } }, { upsert: true })
      .exec();
  }

  async clear(key: string): Promise<void> {
    await this.model.deleteOne({ _id: key }).exec();
  }
}
