import Redis, { Cluster } from 'ioredis';
import type { RedisConfig } from '../config';
import type { RedisTopology } from '../config/redis-topology';

/** One server, a server found through Sentinel, or a Redis Cluster: the commands the service uses work on all three. */
export type RedisConnection = Redis | Cluster;

/** Reconnection back-off shared by every topology. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

/**
 * Fail closed and fast: with Redis unreachable a command errors (the request gets 503) instead of
 * waiting in a queue, while the client keeps reconnecting. On a cluster, the client queues a command
 * for a node it is reconnecting to whatever the options say, so there the command timeout bounds the
 * wait. Commands issued in the same event-loop turn (one per concurrent request on the hot path) leave
 * in one write per server. `overrides` are for tests (lazyConnect).
 */
export function createRedisConnection(
  topology: RedisTopology,
  config: RedisConfig,
  overrides: { lazyConnect?: boolean } = {},
): RedisConnection {
  const perCommand = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.commandTimeoutMs,
    enableAutoPipelining: true,
    ...overrides,
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
        // A master that died is left on the next reconnection, which asks the sentinels again. A master
        // demoted while this client stays connected answers writes with READONLY: reconnect then too.
        // (ioredis's failoverDetector is not used: its disconnect, arriving while the client is asking
        // the sentinels, ends the client for good.)
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
      });
    case 'cluster':
      return new Cluster(topology.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        ...overrides,
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
