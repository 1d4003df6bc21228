import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { redisConfig, type RedisConfig } from '../config';

/** The shared ioredis client, or null when REDIS_URL is unset (the database carries the state). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
export type RedisClient = Redis | null;

class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [redisConfig.KEY],
      useFactory: (config: RedisConfig): RedisClient => {
        if (!config.url) return null;
        const logger = new Logger('Redis');
        const client = new Redis(config.url, {
          // Fail closed and fast: with Redis unreachable a command errors at once (and the request
          // gets 503) instead of waiting in a queue; the client keeps reconnecting meanwhile.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: config.commandTimeoutMs,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
          // Commands issued in the same event-loop turn (one per concurrent request on the hot path)
          // leave in one socket write instead of one write each.
          enableAutoPipelining: true,
        });
        let reported = false;
        client.on('error', (error: Error) => {
          if (!reported) logger.warn(`Redis unavailable: ${error.message}`);
          reported = true;
        });
        client.on('ready', () => {
          if (reported) logger.log('Redis reachable again');
          reported = false;
        });
        return client;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
