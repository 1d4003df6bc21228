import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts } from './free-port';
import { dataNodeArgs, infoField, RedisProcesses, until, withNode } from './redis-processes';

export interface RunningRedisSentinel {
  /** "127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3": the value for REDIS_SENTINELS. */
  sentinels: string;
  /** The monitored master's name, for REDIS_SENTINEL_NAME. */
  name: string;
  /** Port of the master as the sentinels currently report it (SENTINEL get-master-addr-by-name). */
  masterPort(): Promise<number>;
  /** Port of the data node that is not the current master. */
  replicaPort(): Promise<number>;
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT one node: a replica stopped this way misses what its master acknowledges meanwhile. */
  pause(port: number): void;
  resume(port: number): void;
  /** Resolves with the new master's port once the sentinels report a master other than `formerPort` AND that node answers ROLE as master. */
  waitForFailover(formerPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NAME = 'slj-master';

/** Reply of SENTINEL MASTER / one entry of SENTINEL REPLICAS: a flat [field, value, ...] list. */
function fields(reply: unknown): Record<string, string> {
  const list = reply as string[];
  return Object.fromEntries(list.flatMap((value, i) => (i % 2 === 0 ? [[value, list[i + 1]]] : [])));
}

/**
 * A master, its replica and three sentinels (quorum 2) on loopback; resolves once the replica is in sync and every
 * sentinel knows it and the other two, so a master killed right after start is failed over.
 */
export async function startRedisSentinel(options: { downAfterMs?: number } = {}): Promise<RunningRedisSentinel> {
  const downAfter = options.downAfterMs ?? 1_000;
  const processes = await RedisProcesses.create('slj-redis-sentinel-');
  const { dir } = processes;
  try {
    const [master, replica, ...sentinelPorts] = await freePorts(5);
    const dataPorts = [master, replica];
    // The master first: a replica that finds no master only retries a second later.
    await processes.spawn(master, dataNodeArgs(master, dir));
    await Promise.all([
      processes.spawn(replica, [...dataNodeArgs(replica, dir), '--replicaof', HOST, String(master)]),
      ...sentinelPorts.map(async (port) => {
        // Its own writable file: a sentinel rewrites its configuration (its id, the replicas and sentinels it found).
        const config = join(dir, `sentinel-${port}.conf`);
        const logFile = join(dir, `sentinel-${port}.log`);
        await writeFile(
          config,
          [
            `port ${port}`,
            `bind ${HOST}`,
            'daemonize no',
            `dir ${dir}`,
            `logfile ${logFile}`,
            `sentinel monitor ${NAME} ${HOST} ${master} 2`,
            `sentinel down-after-milliseconds ${NAME} ${downAfter}`,
            // Also how long a lost leader election costs before the next attempt (twice this): keep it short.
            `sentinel failover-timeout ${NAME} 2500`,
            `sentinel parallel-syncs ${NAME} 1`,
            '',
          ].join('\n'),
        );
        await processes.spawn(port, [config, '--sentinel'], logFile);
      }),
    ]);

    const liveSentinels = () => sentinelPorts.filter((port) => processes.livePorts().includes(port));
    /** The master's port as each live sentinel reports it (undefined where it does not answer). */
    const reportedMasters = () =>
      Promise.all(
        liveSentinels().map((port) =>
          withNode(port, (redis) => redis.call('SENTINEL', 'get-master-addr-by-name', NAME))
            .then((address) => Number((address as [string, string])[1]))
            .catch(() => undefined),
        ),
      );
    const running: RunningRedisSentinel = {
      sentinels: sentinelPorts.map((port) => `${HOST}:${port}`).join(','),
      name: NAME,
      async masterPort() {
        const reported = (await reportedMasters()).find((port) => port !== undefined);
        if (reported === undefined) throw new Error(`no live sentinel (${running.sentinels}) reports master ${NAME}`);
        return reported;
      },
      async replicaPort() {
        const current = await running.masterPort();
        return dataPorts.find((port) => port !== current) ?? dataPorts[1];
      },
      kill: (port) => processes.kill(port),
      pause: (port) => processes.signal(port, 'SIGSTOP'),
      resume: (port) => processes.signal(port, 'SIGCONT'),
      async waitForFailover(formerPort, timeoutMs = 30_000) {
        let promoted = 0;
        // Every live sentinel, not just one: a client may ask any of them.
        await until(`failover away from port ${formerPort}`, timeoutMs, async () => {
          const reported = await reportedMasters();
          const agreed = reported.every((port) => port === reported[0]) ? reported[0] : undefined;
          if (agreed === undefined || agreed === formerPort) return `the sentinels report masters ${reported}`;
          const role = (await withNode(agreed, (redis) => redis.call('ROLE'))) as unknown[];
          if (role[0] !== 'master') return `the sentinels report master ${agreed}, whose role is ${role[0]}`;
          promoted = agreed;
          return undefined;
        });
        return promoted;
      },
      stop: () => processes.stop(),
    };

    await until('sentinel topology ready', 20_000, async () => {
      const info = await withNode(replica, (redis) => redis.info('replication'));
      const link = infoField(info, 'master_link_status');
      if (link !== 'up') return `replica ${replica}: master_link_status ${link}`;
      for (const port of sentinelPorts) {
        const [masterReply, replicasReply] = await withNode(port, (redis) =>
          Promise.all([redis.call('SENTINEL', 'MASTER', NAME), redis.call('SENTINEL', 'REPLICAS', NAME)]),
        );
        const state = fields(masterReply);
        const known = (replicasReply as unknown[]).map(fields).find((entry) => entry.port === String(replica));
        // "slave" alone: the sentinel's link to the replica is up (not "disconnected", not "s_down").
        if (state.flags !== 'master' || known?.flags !== 'slave' || state['num-other-sentinels'] !== '2') {
          const other = state['num-other-sentinels'];
          return `sentinel ${port}: master flags ${state.flags}, replica flags ${known?.flags}, other sentinels ${other}`;
        }
      }
      return undefined;
    });
    return running;
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
