import { listenOnLoopback } from '../support/http';
import { startRedisCluster, withNode, type RunningRedisCluster } from '../support/redis-cluster';
import { createTestApp, sharedInstanceEnv, type TestApp } from '../support/test-app';
import {
  exerciseFailover,
  itKeepsTheFailoverGuarantees,
  revocationMarker,
  type FailoverReport,
} from './support/failover-scenario';

/**
 * A master of a Redis Cluster (three masters, three replicas, started here) killed under steady
 * traffic on two instances. Revocations its replica never received were acknowledged just before:
 * every instance that loses a node answers 503 until the database's recent revocations are in Redis
 * again, so no revoked token is accepted, then recovers by itself once a replica is promoted.
 */

jest.setTimeout(90_000);

describe('Redis Cluster: a master killed under traffic', () => {
  let cluster: RunningRedisCluster;
  let apps: TestApp[] = [];
  let report: FailoverReport;
  let pausedReplica: number | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
    const shared = sharedInstanceEnv('clusterfailover', { REDIS_CLUSTER_NODES: cluster.nodes });
    apps = [await createTestApp(shared, 'clusterfailover'), await createTestApp(shared, 'clusterfailover')];
    const instances = [await listenOnLoopback(apps[0], 'A'), await listenOnLoopback(apps[1], 'B')] as const;
    report = await exerciseFailover({
      instances: [...instances],
      masterOf: (sid) => cluster.masterFor(revocationMarker(sid)),
      async pauseReplicaOf(master) {
        pausedReplica = await cluster.replicaOf(master);
        cluster.pause(pausedReplica);
        // Stopped, the replica would still find in its socket what the master sends meanwhile: the link
        // is cut as well, and the stopped replica cannot reconnect before the master is gone.
        await withNode(master, (node) => node.call('CLIENT', 'KILL', 'TYPE', 'replica'));
      },
      resumeReplica: () => cluster.resume(pausedReplica as number),
      killMaster: (master) => cluster.kill(master),
      replicaHasMarker: (sid) =>
        withNode(pausedReplica as number, async (node) => {
          await node.call('READONLY');
          return (await node.exists(revocationMarker(sid))) === 1;
        }),
      promoted: () => cluster.waitUntilHealthy(30_000),
    });
  });

  afterAll(async () => {
    await apps[1]?.app.close();
    await apps[0]?.close();
    await cluster?.stop();
  });

  itKeepsTheFailoverGuarantees('cluster failover', () => report);
});
