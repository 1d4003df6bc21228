import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Clock } from '../../common/clock/clock';
import { fixedWindow } from './fixed-window';

/** Keys remembered at most; entries of past windows are dropped first. */
const MAX_LOCAL_KEYS = 10_000;

/**
 * Counts every hit in this instance's memory before asking the shared store (Redis or the database).
 * The shared count is never below this instance's own, so once this instance alone has seen more than
 * the limit in the current window, the answer is 429 without a round trip: a flood from one address
 * costs the shared store no more than the limit's worth of writes per instance and window.
 */
export class LocalFirstThrottlerStorage implements ThrottlerStorage {
  private readonly local = new Map<string, { window: number; hits: number }>();

  constructor(
    private readonly shared: ThrottlerStorage,
    private readonly clock: Clock,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { number: window, secondsLeft } = fixedWindow(this.clock.now(), ttl);
    const entry = this.local.get(key);
    const hits = entry?.window === window ? entry.hits + 1 : 1;
    if (!entry && this.local.size >= MAX_LOCAL_KEYS) this.forgetPastWindows(window);
    this.local.set(key, { window, hits });
    if (hits > limit) {
      return { totalHits: hits, timeToExpire: secondsLeft, isBlocked: true, timeToBlockExpire: secondsLeft };
    }
    return this.shared.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  private forgetPastWindows(current: number): void {
    for (const [key, entry] of this.local) if (entry.window !== current) this.local.delete(key);
    // Still full of current keys (a flood of addresses): start over rather than grow without bound.
    if (this.local.size >= MAX_LOCAL_KEYS) this.local.clear();
  }
}
