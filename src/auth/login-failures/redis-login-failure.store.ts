import type Redis from 'ioredis';
import { askRedis } from '../../common/exceptions/state-store-unavailable.error';
import { LoginFailureStore, type FailureWindow } from './login-failure.store';

/** One counter key per (username, address), in a fixed window that starts at the first failure. */
export class RedisLoginFailureStore extends LoginFailureStore {
  constructor(private readonly redis: Redis) {
    super();
  }

  async openWindow(key: string, now: Date): Promise<FailureWindow | null> {
    const results = await askRedis(() => this.redis.multi().get(redisKey(key)).pttl(redisKey(key)).exec());
    const count = Number(results?.[0]?.[1] ?? 0);
    const ttlMs = Number(results?.[1]?.[1] ?? -2);
    if (!count || ttlMs <= 0) return null;
    return { count, closesAt: new Date(now.getTime() + ttlMs) };
  }

  async recordFailure(key: string, _now: Date, windowMs: number): Promise<void> {
    // The window starts at the first failure (SET NX with its expiry); later ones only count.
    await askRedis(() => this.redis.multi().set(redisKey(key), '0', 'PX', windowMs, 'NX').incr(redisKey(key)).exec());
  }

  async clear(key: string): Promise<void> {
    await askRedis(() => this.redis.del(redisKey(key)));
  }
}

function redisKey(key: string): string {
  return `slj:login-failures:${key}`;
}
