import { parseRedisTopology } from './redis-topology';

describe(parseRedisTopology.name, () => {
  it('selects nothing when no Redis variable is set', () => {
    expect(parseRedisTopology({})).toEqual({ topology: undefined, problems: [] });
  });

  it('selects one server with REDIS_URL', () => {
    expect(parseRedisTopology({ url: 'redis://cache:6379' })).toEqual({
      topology: { mode: 'standalone', url: 'redis://cache:6379' },
      problems: [],
    });
  });

  it('selects a cluster with REDIS_CLUSTER_NODES, with credentials and IPv6 seeds', () => {
    const { topology, problems } = parseRedisTopology({
      clusterNodes: 'redis-1:7000, 10.0.0.2:7001,[::1]:7002,redis_4:7003',
      username: 'app',
      password: ' secret ',
    });

    expect(problems).toEqual([]);
    expect(topology).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
        { host: 'redis_4', port: 7003 },
      ],
      username: 'app',
      password: ' secret ',
    });
  });

  it('selects Sentinel with REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
    const { topology, problems } = parseRedisTopology({
      sentinels: 's1:26379,s2:26379,s3:26379',
      sentinelName: 'auth',
      sentinelPassword: 'sentinel-secret',
    });

    expect(problems).toEqual([]);
    expect(topology).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: 's3', port: 26379 },
      ],
      masterName: 'auth',
      sentinelPassword: 'sentinel-secret',
      username: undefined,
      password: undefined,
    });
  });

  it.each([
    [{ url: 'redis://a:6379', clusterNodes: 'b:7000' }, 'Set only one of REDIS_URL, REDIS_CLUSTER_NODES'],
    [{ clusterNodes: 'b:7000', sentinels: 'c:26379', sentinelName: 'm' }, 'Set only one of'],
    [{ sentinels: 'c:26379' }, 'REDIS_SENTINEL_NAME is required'],
    [{ sentinelName: 'm' }, 'REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS'],
    [{ clusterNodes: 'redis-1' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: 'redis-1:99999' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: ' , ' }, 'REDIS_CLUSTER_NODES must list at least one host:port'],
    [{ clusterNodes: '-:6379' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: '..:7000' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: '[:]:7000' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: '::1:7000' }, 'REDIS_CLUSTER_NODES must list host:port pairs'],
    [{ clusterNodes: 'a:7000', sentinelPassword: 's' }, 'REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS'],
    [{ sentinelPassword: 's' }, 'REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS'],
    [{ sentinels: 'redis://c:26379', sentinelName: 'm' }, 'REDIS_SENTINELS must list host:port pairs'],
    [{ url: 'redis://a:6379', password: 'p' }, 'put the credentials in the URL'],
    [{ password: 'p' }, 'REDIS_USERNAME and REDIS_PASSWORD are used with'],
  ])('refuses %j', (input, problem) => {
    const { topology, problems } = parseRedisTopology(input);

    expect(topology).toBeUndefined();
    expect(problems).toEqual([expect.stringContaining(problem)]);
  });
});
