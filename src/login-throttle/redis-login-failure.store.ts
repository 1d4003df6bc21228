import { askRedis, StateStoreUnavailableError } from '../common/exceptions/state-store-unavailable.error';
import type { RedisConnection } from '../redis/redis-connection.factory';
import { LoginFailureStore, type AttemptReservation } from './login-failure.store';

/** A DECR that never creates the key: a window that has closed meanwhile stays closed. */
const DECREMENT_IF_PRESENT =
  "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0";

/** One counter key per (username, address), in a fixed window that starts at the first attempt. */
export class RedisLoginFailureStore extends LoginFailureStore {
  constructor(private readonly redis: RedisConnection) {
    super();
  }

  async reserve(key: string, now: Date, windowMs: number, maxAttempts: number): Promise<AttemptReservation> {
    const name = redisKey(key);
    // The window starts with the first attempt (SET NX with its expiry); INCR then hands each attempt
    // its own position, atomically, however many arrive at once.
    const results = await askRedis(() =>
      this.redis.multi().set(name, '0', 'PX', windowMs, 'NX').incr(name).pttl(name).exec(),
    );
    const failed = results?.find(([error]) => error);
    if (!results || failed)
      throw new StateStoreUnavailableError(`Redis refused the attempt count: ${failed?.[0]?.message ?? 'aborted'}`);
    const position = Number(results[1][1]);
    const ttlMs = Number(results[2][1]);
    return {
      allowed: position <= maxAttempts,
      closesAt: new Date(now.getTime() + (ttlMs > 0 ? ttlMs : windowMs)),
      refund: async () => void (await askRedis(() => this.redis.eval(DECREMENT_IF_PRESENT, 1, name))),
    };
  }

  async clear(key: string): Promise<void> {
    await askRedis(() => this.redis.del(redisKey(key)));
  }
}

function redisKey(key: string): string {
  return `slj:login-failures:${key}`;
}
