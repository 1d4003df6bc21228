import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { redisConfig, type RedisConfig } from '../config';
import { createRedisConnection, describeRedisTopology, type RedisConnection } from './redis-connection.factory';

/** The shared Redis connection, or null when no Redis is configured (the database carries the state). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
export type RedisClient = RedisConnection | null;

class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    await this.redis.quit().catch(() => undefined);
    // After QUIT as well: whatever the client still holds (a reconnection timer, connections to
    // sentinels) must not keep the process alive.
    this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [redisConfig.KEY],
      useFactory: (config: RedisConfig): RedisClient => {
        if (!config.topology) return null;
        const logger = new Logger('Redis');
        const client = createRedisConnection(config.topology, config);
        logger.log(`Revocation state and rate limits in ${describeRedisTopology(config.topology)}`);
        let reported = false;
        client.on('error', (error: Error) => {
          if (!reported) logger.warn(`Redis unavailable: ${error.message}`);
          reported = true;
        });
        // A cluster stays up while one of its nodes is lost: that is reported per node.
        client.on('-node', (node: { options: { host?: string; port?: number } }) =>
          logger.warn(`Redis node ${node.options.host}:${node.options.port} left the client's pool`),
        );
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
