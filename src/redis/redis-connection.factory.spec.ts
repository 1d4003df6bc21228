import { Cluster } from 'ioredis';
import type { RedisConfig } from '../config';
import type { RedisTopology } from '../config/redis-topology';
import { createRedisConnection, type RedisConnection } from './redis-connection.factory';

const CONFIG = { topology: undefined, commandTimeoutMs: 1000 } satisfies RedisConfig;
/** Nothing listens there, and the clients are created without connecting. */
const NOWHERE = { host: '127.0.0.1', port: 1 };

describe(createRedisConnection.name, () => {
  const clients: RedisConnection[] = [];

  function create(topology: RedisTopology): RedisConnection {
    const client = createRedisConnection(topology, CONFIG, { lazyConnect: true });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  it('fails commands fast on one server instead of queueing them while disconnected', () => {
    const client = create({ mode: 'standalone', url: 'redis://127.0.0.1:1' });

    expect(client).not.toBeInstanceOf(Cluster);
    expect(client.options).toMatchObject({ enableOfflineQueue: false, commandTimeout: 1000, maxRetriesPerRequest: 1 });
  });

  it('follows the named master through the sentinels, and reconnects when a demoted master refuses a write', () => {
    const client = create({
      mode: 'sentinel',
      sentinels: [NOWHERE],
      masterName: 'auth',
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
    });

    expect(client).not.toBeInstanceOf(Cluster);
    expect(client.options).toMatchObject({
      sentinels: [NOWHERE],
      name: 'auth',
      role: 'master',
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
      enableOfflineQueue: false,
      commandTimeout: 1000,
    });
    const { reconnectOnError } = client.options as { reconnectOnError: (error: Error) => boolean | 1 | 2 };
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(1);
    expect(reconnectOnError(new Error('OOM command not allowed'))).toBe(false);
  });

  it('uses a cluster client that reads from masters only and bounds each command', () => {
    const client = create({ mode: 'cluster', nodes: [NOWHERE], username: 'app', password: 'secret' });

    expect(client).toBeInstanceOf(Cluster);
    expect((client as Cluster).options).toMatchObject({
      scaleReads: 'master',
      enableOfflineQueue: false,
      redisOptions: { username: 'app', password: 'secret', commandTimeout: 1000, maxRetriesPerRequest: 1 },
    });
  });
});
