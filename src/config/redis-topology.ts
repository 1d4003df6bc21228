import { isIP } from 'node:net';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** Credentials for the data nodes of a cluster or of a Sentinel-managed group (REDIS_URL carries its own). */
export interface RedisCredentials {
  username?: string;
  password?: string;
}

/**
 * Which Redis the service talks to: one server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES) or a
 * master found through Sentinel (REDIS_SENTINELS and REDIS_SENTINEL_NAME). At most one may be set.
 */
export type RedisTopology =
  | { mode: 'standalone'; url: string }
  | ({ mode: 'cluster'; nodes: RedisNodeAddress[] } & RedisCredentials)
  | ({
      mode: 'sentinel';
      sentinels: RedisNodeAddress[];
      masterName: string;
      /** For the sentinels themselves, when they require a password of their own. */
      sentinelPassword?: string;
    } & RedisCredentials);

export interface RedisTopologyInput {
  url?: string;
  clusterNodes?: string;
  sentinels?: string;
  sentinelName?: string;
  username?: string;
  password?: string;
  sentinelPassword?: string;
}

/** Parses the Redis variables; `problems` lists what is wrong, in the words of the variables. */
export function parseRedisTopology(input: RedisTopologyInput): { topology?: RedisTopology; problems: string[] } {
  const problems: string[] = [];
  const chosen = [
    input.url !== undefined && 'REDIS_URL',
    input.clusterNodes !== undefined && 'REDIS_CLUSTER_NODES',
    input.sentinels !== undefined && 'REDIS_SENTINELS',
  ].filter((name): name is string => typeof name === 'string');
  if (chosen.length > 1) problems.push(`Set only one of ${chosen.join(', ')}: each selects a different Redis`);
  if (input.sentinels === undefined && input.sentinelName !== undefined)
    problems.push('REDIS_SENTINEL_NAME is only used with REDIS_SENTINELS');
  if (input.url !== undefined && (input.username !== undefined || input.password !== undefined))
    problems.push('With REDIS_URL, put the credentials in the URL (redis://user:password@host:port)');
  if (problems.length > 0) return { problems };

  const credentials: RedisCredentials = { username: input.username, password: input.password };
  if (input.clusterNodes !== undefined) {
    if (input.sentinelPassword !== undefined)
      problems.push('REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS');
    const nodes = parseAddressList('REDIS_CLUSTER_NODES', input.clusterNodes, problems);
    return { topology: problems.length ? undefined : { mode: 'cluster', nodes, ...credentials }, problems };
  }
  if (input.sentinels !== undefined) {
    const sentinels = parseAddressList('REDIS_SENTINELS', input.sentinels, problems);
    if (input.sentinelName === undefined)
      problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the name of the master group to follow');
    if (problems.length > 0) return { problems };
    return {
      topology: {
        mode: 'sentinel',
        sentinels,
        masterName: input.sentinelName as string,
        sentinelPassword: input.sentinelPassword,
        ...credentials,
      },
      problems,
    };
  }
  if (input.username !== undefined || input.password !== undefined)
    problems.push('REDIS_USERNAME and REDIS_PASSWORD are used with REDIS_CLUSTER_NODES or REDIS_SENTINELS only');
  if (input.sentinelPassword !== undefined) problems.push('REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS');
  if (input.url !== undefined && problems.length === 0)
    return { topology: { mode: 'standalone', url: input.url }, problems };
  return { problems };
}

/** A host name (labels of letters, digits, "-" and "_", as container names have) or an IPv4 address. */
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

/** "host:port,host:port": IPv6 hosts in brackets ("[::1]:7000"). */
function parseAddressList(name: string, value: string, problems: string[]): RedisNodeAddress[] {
  const addresses: RedisNodeAddress[] = [];
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    const host = match?.[1] ?? match?.[2] ?? '';
    const port = Number(match?.[3]);
    const hostValid = match?.[1] !== undefined ? isIP(host) === 6 : HOST_NAME.test(host);
    if (!match || !hostValid || port < 1 || port > 65535) {
      problems.push(`${name} must list host:port pairs separated by commas (got "${entry}")`);
      continue;
    }
    addresses.push({ host, port });
  }
  if (addresses.length === 0 && problems.length === 0) problems.push(`${name} must list at least one host:port`);
  return addresses;
}
