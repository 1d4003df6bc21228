import { closeInstancePair, startInstancePair, type InstancePair } from '../support/instance-pair';
import { withNode } from '../support/redis-processes';
import { startRedisSentinel, type RunningRedisSentinel } from '../support/redis-sentinel';
import {
  exerciseFailover,
  itKeepsTheFailoverGuarantees,
  revocationMarker,
  type FailoverReport,
} from './support/failover-scenario';

/**
 * A Redis master watched by three sentinels (with one replica, all started here) killed under steady
 * traffic on two instances, right after it acknowledged revocations that its replica never received.
 * Redis replicates asynchronously, so the promoted replica lacks them. The guarantee holds because
 * an instance that loses its connection answers 503 until the database's recent revocations have been
 * published to the new master: no revoked token is accepted before, during or after the failover.
 */

jest.setTimeout(90_000);

describe('Redis Sentinel: the master killed under traffic', () => {
  let sentinel: RunningRedisSentinel;
  let pair: InstancePair | undefined;
  let report: FailoverReport;
  let replica: number | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel({ downAfterMs: 1000 });
    pair = await startInstancePair('sentinelfailover', {
      REDIS_SENTINELS: sentinel.sentinels,
      REDIS_SENTINEL_NAME: sentinel.name,
    });
    const master = await sentinel.masterPort();
    report = await exerciseFailover({
      instances: [pair.onA, pair.onB],
      masterOf: () => Promise.resolve(master),
      async pauseReplicaOf() {
        replica = await sentinel.replicaPort();
        sentinel.pause(replica);
      },
      async replaceMaster(port) {
        await sentinel.kill(port);
        sentinel.resume(replica as number);
      },
      replicaHasMarker: (sid) =>
        withNode(replica as number, async (node) => (await node.exists(revocationMarker(sid))) === 1),
      promoted: async () => void (await sentinel.waitForFailover(master, 30_000)),
    });
  });

  afterAll(async () => {
    await closeInstancePair(pair);
    await sentinel?.stop();
  });

  itKeepsTheFailoverGuarantees('sentinel failover', () => report);
});
