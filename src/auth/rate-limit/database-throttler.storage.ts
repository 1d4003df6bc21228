import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Model } from 'mongoose';
import { Clock } from '../../common/clock/clock';
import { RateLimitHit } from './rate-limit-hit.schema';
import { fixedWindow } from './fixed-window';

const PURGE_INTERVAL_MS = 60_000;

/**
 * @nestjs/throttler storage in the database, for deployments without Redis: every instance counts
 * into the same fixed windows. Each request inserts its hit, then counts, so of N concurrent requests
 * no more than the limit get through (each sees at least every hit before its own).
 */
@Injectable()
export class DatabaseThrottlerStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private purgeTimer?: NodeJS.Timeout;
  private longestTtlMs = 60_000;

  constructor(
    @InjectModel(RateLimitHit.name) private readonly model: Model<RateLimitHit>,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => void this.purgeOldHits().catch(() => undefined), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.purgeTimer);
  }

  async increment(key: string, ttlMs: number, limit: number): Promise<ThrottlerStorageRecord> {
    this.longestTtlMs = Math.max(this.longestTtlMs, ttlMs);
    const now = this.clock.now();
    const { number: windowNumber, secondsLeft } = fixedWindow(now, ttlMs);
    const window = `${key}:${windowNumber}`;

    // LocalFirstThrottlerStorage answers a flood from memory once this instance alone is over the
    // limit, so each instance writes at most about `limit` hits per key and window.
    await this.model.create({ window, at: new Date(now) });
    const hits = await this.model.countDocuments({ window }).exec();
    const isBlocked = hits > limit;
    return { totalHits: hits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }

  private async purgeOldHits(): Promise<void> {
    await this.model.deleteMany({ at: { $lt: new Date(this.clock.now() - this.longestTtlMs) } }).exec();
  }
}
