import Redis, { Cluster } from 'ioredis';
import type { RedisConfig } from '../config';
import type { RedisTopology } from '../config/redis-topology';

/** One server, a server found through Sentinel, or a Redis Cluster: the commands the service uses work on all three. */
export type RedisConnection = Redis | Cluster;

/** Reconnection back-off shared by every topology. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

/**
 * Fail closed and fast on every topology: with Redis unreachable a command errors at once (the request
 * gets 503) instead of waiting in a queue, while the client keeps reconnecting. Commands issued in the
 * same event-loop turn (one per concurrent request on the hot path) leave in one write per server.
 */
export function createRedisConnection(topology: RedisTopology, config: RedisConfig): RedisConnection {
  const perCommand = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.commandTimeoutMs,
    enableAutoPipelining: true,
  };
  switch (topology.mode) {
    case 'standalone':
      return new Redis(topology.url, { ...perCommand, retryStrategy: reconnectDelay });
    case 'sentinel':
      return new Redis({
        ...perCommand,
        retryStrategy: reconnectDelay,
        sentinels: topology.sentinels,
        name: topology.masterName,
        username: topology.username,
        password: topology.password,
        sentinelPassword: topology.sentinelPassword,
        // Reconnect to the promoted master as soon as the sentinels announce it, not on the next error.
        failoverDetector: true,
      });
    case 'cluster':
      return new Cluster(topology.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnectDelay,
        // A replica may lag behind a revocation: checks read from the master of the slot.
        scaleReads: 'master',
        slotsRefreshTimeout: config.commandTimeoutMs,
        redisOptions: {
          username: topology.username,
          password: topology.password,
          commandTimeout: config.commandTimeoutMs,
          maxRetriesPerRequest: 1,
        },
      });
  }
}

/** A readable name of the topology for logs, without credentials. */
export function describeRedisTopology(topology: RedisTopology): string {
  switch (topology.mode) {
    case 'standalone':
      return 'one Redis server (REDIS_URL)';
    case 'sentinel':
      return `the master "${topology.masterName}" through ${topology.sentinels.length} sentinel(s)`;
    case 'cluster':
      return `a Redis Cluster (${topology.nodes.length} seed node(s))`;
  }
}
