import { closeInstancePair, startInstancePair, type InstancePair } from '../support/instance-pair';
import { startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster';
import { withNode } from '../support/redis-processes';
import {
  exerciseFailover,
  itKeepsTheFailoverGuarantees,
  revocationMarker,
  type FailoverReport,
} from './support/failover-scenario';

/**
 * A master of a Redis Cluster (three masters, three replicas, started here) replaced under steady
 * traffic on two instances, right after it acknowledged revocations that its replica never received.
 * Killed, it is a lost node; taken over while alive, its connections stay open and the client follows
 * MOVED answers to the promoted replica. Either way every instance answers 503 until the database's
 * recent revocations are in Redis again: no revoked token is accepted, and it recovers by itself.
 */

jest.setTimeout(90_000);

describe.each([
  ['killed (SIGKILL)', 'kill'],
  ['taken over by its replica while alive (CLUSTER FAILOVER TAKEOVER)', 'takeover'],
] as const)('Redis Cluster: a master %s under traffic', (_label, how) => {
  let cluster: RunningRedisCluster;
  let pair: InstancePair | undefined;
  let report: FailoverReport;
  let replica: number | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
    pair = await startInstancePair(`cluster${how}`, { REDIS_CLUSTER_NODES: cluster.nodes });
    report = await exerciseFailover({
      instances: [pair.onA, pair.onB],
      masterOf: (sid) => cluster.masterFor(revocationMarker(sid)),
      async pauseReplicaOf(master) {
        replica = await cluster.replicaOf(master);
        cluster.pause(replica);
      },
      async replaceMaster(master) {
        if (how === 'kill') await cluster.kill(master);
        cluster.resume(replica as number);
        if (how === 'takeover')
          await withNode(replica as number, (node) => node.call('CLUSTER', 'FAILOVER', 'TAKEOVER'));
      },
      replicaHasMarker: (sid) =>
        withNode(replica as number, async (node) => {
          await node.call('READONLY');
          return (await node.exists(revocationMarker(sid))) === 1;
        }),
      async promoted() {
        await cluster.waitUntilHealthy(30_000);
        if (!(await cluster.masters()).includes(replica as number))
          throw new Error(`replica ${replica} was not promoted`);
      },
    });
  });

  afterAll(async () => {
    await closeInstancePair(pair);
    await cluster?.stop();
  });

  itKeepsTheFailoverGuarantees(`cluster ${how}`, () => report);
});
