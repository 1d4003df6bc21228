import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Model } from 'mongoose';
import { RateLimitWindow } from './rate-limit-window.schema';

/**
 * @nestjs/throttler storage in the database, for deployments without Redis: every instance counts
 * into the same fixed one-minute windows. One atomic $inc per request in the common case.
 */
@Injectable()
export class DatabaseThrottlerStorage implements ThrottlerStorage {
  constructor(@InjectModel(RateLimitWindow.name) private readonly model: Model<RateLimitWindow>) {}

  async increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    const now = new Date();
    const window =
      (await this.model
        .findOneAndUpdate({ _id: key, endsAt: { $gt: now } }, { $inc: { hits: 1 } }, { new: true })
        .lean<RateLimitWindow>()
        .exec()) ??
      // No open window: start one. Two requests racing here may both count as the first; a brake,
      // not a ledger.
      (await this.model
        .findOneAndUpdate(
          { _id: key },
          { $set: { hits: 1, endsAt: new Date(now.getTime() + ttlMs) } },
          { new: true, upsert: true },
        )
        .lean<RateLimitWindow>()
        .exec());
    const secondsLeft = Math.max(1, Math.ceil((window.endsAt.getTime() - now.getTime()) / 1000));
    const isBlocked = window.hits > limit;
    return { totalHits: window.hits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }
}
