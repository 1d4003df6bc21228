import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { LoginFailure } from './schemas/login-failure.schema';

@Injectable()
export class LoginFailuresRepository {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {}

  /** The failures counted in the window that is still open at `windowOpenSince`, if any. */
  findOpenWindow(key: string, windowOpenSince: Date): Promise<LoginFailure | null> {
    return this.model.findOne({ _id: key, windowStartedAt: { $gt: windowOpenSince } }).lean<LoginFailure>().exec();
  }

  /**
   * Counts one failure: into the open window with an atomic $inc, or by starting a new window. Two
   * failures racing to start a window may count as one; the limit is a brake, not a ledger.
   */
  async recordFailure(key: string, now: Date, windowOpenSince: Date): Promise<void> {
    const counted = await this.model
      .updateOne({ _id: key, windowStartedAt: { $gt: windowOpenSince } }, { $inc: { count: 1 } })
      .exec();
    if (counted.matchedCount === 1) return;
    await this.model.updateOne({ _id: key }, { $set: { count: 1, windowStartedAt: now } }, { upsert: true }).exec();
  }

  async clear(key: string): Promise<void> {
    await this.model.deleteOne({ _id: key }).exec();
  }
}
