import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePorts } from './free-port';
import { dataNodeArgs, infoField, RedisProcesses, until, withNode } from './redis-processes';

export interface RunningRedisCluster {
  /** "127.0.0.1:p1,...,127.0.0.1:p6": the value for REDIS_CLUSTER_NODES. */
  nodes: string;
  ports: number[];
  /** Port of the master currently serving the slot of this key (as the first live node that answers sees it). */
  masterFor(key: string): Promise<number>;
  /** Ports of the current masters (live ones). */
  masters(): Promise<number[]>;
  /** Port of the replica of this master (its first, as the master's INFO replication lists them). */
  replicaOf(masterPort: number): Promise<number>;
  /** SIGKILL one node and wait for its process to exit. */
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT one node: a replica stopped this way misses what its master acknowledges meanwhile. */
  pause(port: number): void;
  resume(port: number): void;
  /** Until every one of the 16384 slots is served by a live master and every live node says cluster_state:ok. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SLOTS = 16_384;

type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

/** Six nodes, three masters with a replica each, on loopback; resolves once a master can be killed and taken over. */
export async function startRedisCluster(options: { nodeTimeoutMs?: number } = {}): Promise<RunningRedisCluster> {
  const nodeTimeout = options.nodeTimeoutMs ?? 1_000;
  const processes = await RedisProcesses.create('slj-redis-cluster-');
  const { dir } = processes;
  try {
    // The bus ports are chosen too: the default (port + 10000) may be taken or above 65535.
    const allPorts = await freePorts(12);
    const ports = allPorts.slice(0, 6);
    await Promise.all(
      ports.map((port, i) =>
        processes.spawn(port, [
          ...dataNodeArgs(port, dir),
          ...['--cluster-enabled', 'yes', '--cluster-port', String(allPorts[6 + i])],
          ...['--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(nodeTimeout)],
          // A replica may always be promoted, however recently it was synced; no reads from a failed cluster.
          ...['--cluster-replica-validity-factor', '0', '--cluster-allow-reads-when-down', 'no'],
        ]),
      ),
    );
    await createCluster(ports);

    const live = () => processes.livePorts();
    const cluster: RunningRedisCluster = {
      nodes: ports.map((port) => `${HOST}:${port}`).join(','),
      ports,
      async masterFor(key) {
        for (const port of live()) {
          const master = await withNode(port, async (redis) => {
            const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
            const ranges = (await redis.call('CLUSTER', 'SLOTS')) as SlotRange[];
            return ranges.find(([start, end]) => start <= slot && slot <= end)?.[2][1];
          }).catch(() => undefined);
          if (master !== undefined) return master;
        }
        throw new Error(`no live node of the cluster ${cluster.nodes} knows the master for key ${key}`);
      },
      async masters() {
        const ports = live();
        const roles = await Promise.all(
          ports.map((port) => withNode(port, (redis) => redis.call('ROLE')).catch(() => undefined)),
        );
        return ports.filter((_, i) => (roles[i] as unknown[] | undefined)?.[0] === 'master');
      },
      async replicaOf(masterPort) {
        const info = await withNode(masterPort, (redis) => redis.info('replication'));
        const port = Number(/^slave0:.*\bport=(\d+)/m.exec(info)?.[1]);
        if (!port) throw new Error(`master ${masterPort} lists no replica: ${info}`);
        return port;
      },
      kill: (port) => processes.kill(port),
      pause: (port) => processes.signal(port, 'SIGSTOP'),
      resume: (port) => processes.signal(port, 'SIGCONT'),
      waitUntilHealthy: (timeoutMs = 20_000) => until('cluster healthy', timeoutMs, () => unhealthy(live())),
      stop: () => processes.stop(),
    };

    // Every replica in sync and known to every node: a master killed right now is taken over.
    await until('cluster ready', 20_000, async () => {
      const missing = await unhealthy(live());
      if (missing) return missing;
      for (const port of ports) {
        const [info, clusterInfo] = await withNode(port, (redis) =>
          Promise.all([redis.info('replication'), redis.call('CLUSTER', 'INFO') as Promise<string>]),
        );
        const known = infoField(clusterInfo, 'cluster_known_nodes');
        if (known !== '6') return `node ${port} knows ${known} of 6 nodes`;
        const link = infoField(info, 'master_link_status');
        if (infoField(info, 'role') === 'slave' && link !== 'up') return `replica ${port}: master_link_status ${link}`;
      }
      const masters = await cluster.masters();
      return masters.length === 3 ? undefined : `masters are ${masters}`;
    });
    return cluster;
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

/** What keeps the cluster from being healthy as the live nodes see it, or undefined. */
async function unhealthy(live: number[]): Promise<string | undefined> {
  for (const port of live) {
    const [state, ranges] = await withNode(port, (redis) =>
      Promise.all([
        redis.call('CLUSTER', 'INFO') as Promise<string>,
        redis.call('CLUSTER', 'SLOTS') as Promise<SlotRange[]>,
      ]),
    );
    const clusterState = infoField(state, 'cluster_state');
    if (clusterState !== 'ok') return `node ${port} says cluster_state:${clusterState}`;
    let served = 0;
    for (const [start, end, [, master]] of ranges) {
      if (!live.includes(master)) return `node ${port} routes slots ${start}-${end} to master ${master}, which is down`;
      served += end - start + 1;
    }
    if (served !== SLOTS) return `node ${port} knows a master for ${served} of ${SLOTS} slots`;
  }
  return undefined;
}

/** `redis-cli --cluster create` over the six nodes: three masters, one replica each. */
async function createCluster(ports: number[]): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '1'];
  const child = spawn('redis-cli', [...args, '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolveExit) => {
    child.once('error', (error) => ((output += error.message), resolveExit(null)));
    child.once('close', (exitCode) => resolveExit(exitCode));
  });
  clearTimeout(timer);
  if (code !== 0) {
    // redis-cli colours its output even on a pipe.
    // eslint-disable-next-line no-control-regex -- the escape character starts each colour code
    const text = output.replace(/\x1b\[[0-9;]*m/g, '').trim();
    throw new Error(
      `redis-cli ${args.join(' ')} failed (exit code ${code ?? 'none: not run, or killed after 30 s'}): ${text}`,
    );
  }
}
