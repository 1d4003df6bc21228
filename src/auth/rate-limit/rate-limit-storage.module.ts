import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Cluster } from 'ioredis';
import { Clock } from '../../common/clock/clock';
import { askRedis } from '../../common/exceptions/state-store-unavailable.error';
import { REDIS_CLIENT, type RedisClient } from '../../redis/redis.module';
import { DatabaseThrottlerStorage } from './database-throttler.storage';
import { LocalFirstThrottlerStorage } from './local-first-throttler.storage';
import { RateLimitHit, RateLimitHitSchema } from './rate-limit-hit.schema';

/** Where the auth rate limit counts: Redis when configured, else the database; shared either way. */
export const AUTH_THROTTLER_STORAGE = Symbol('AUTH_THROTTLER_STORAGE');

/**
 * Its keys share a hash tag per counter, so the count works on a Redis Cluster as on one server. Any
 * failure of it is a StateStoreUnavailableError: 503, whatever Redis answered.
 */
function redisThrottlerStorage(redis: NonNullable<RedisClient>): ThrottlerStorage {
  // Two overloads, one per client type.
  const storage =
    redis instanceof Cluster ? new ThrottlerStorageRedisService(redis) : new ThrottlerStorageRedisService(redis);
  return { increment: (...args) => askRedis(() => storage.increment(...args)) };
}

@Module({
  imports: [MongooseModule.forFeature([{ name: RateLimitHit.name, schema: RateLimitHitSchema }])],
  providers: [
    DatabaseThrottlerStorage,
    {
      provide: AUTH_THROTTLER_STORAGE,
      inject: [REDIS_CLIENT, DatabaseThrottlerStorage, Clock],
      useFactory: (redis: RedisClient, database: DatabaseThrottlerStorage, clock: Clock): ThrottlerStorage =>
        new LocalFirstThrottlerStorage(redis ? redisThrottlerStorage(redis) : database, clock),
    },
  ],
  exports: [AUTH_THROTTLER_STORAGE],
})
export class RateLimitStorageModule {}
