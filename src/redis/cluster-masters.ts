import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';

/** Slots of a Redis Cluster. */
const SLOTS = 16_384;
/** How often the client re-reads the slot map, to learn of a new master no redirection told it of. */
const REFRESH_INTERVAL_MS = 2_000;

/**
 * Which node the cluster client sends each slot to, and when that changes. A slot's master changes
 * after a failover (a replica promoted, possibly without writes the old master had acknowledged) or a
 * migration; the client learns it from a MOVED answer, which it follows at once, or from its periodic
 * refresh of the slot map. A dead master is seen as a lost node; a demoted one may keep its
 * connection open, and only this comparison tells. The periodic refresh is this class's own timer
 * (unref'd, stopped on shutdown) rather than ioredis's, which a refresh in flight at quit() restarts.
 */
export class ClusterMasters {
  private lastMap?: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cluster: Cluster,
    onChange: () => void,
  ) {
    cluster.on('refresh', () => {
      const map = this.describe();
      if (this.lastMap !== undefined && map !== this.lastMap) onChange();
      this.lastMap = map;
    });
    this.timer = setInterval(() => {
      if (cluster.status === 'ready') cluster.refreshSlotsCache();
    }, REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * The node serving the slot of `key` now (undefined before the first slot map), and whether a later
   * look finds another one: the slot is hashed once.
   */
  watch(key: string): { changed(): boolean } {
    const slot = calculateSlot(key);
    const master = this.masterOfSlot(slot);
    return { changed: () => master !== undefined && this.masterOfSlot(slot) !== master };
  }

  private masterOfSlot(slot: number): string | undefined {
    return this.cluster.slots[slot]?.[0];
  }

  /** Ranges of slots and their masters, e.g. "0-5460 a:7000|5461-10922 b:7001|…". */
  private describe(): string {
    const ranges: string[] = [];
    let start = 0;
    for (let slot = 1; slot <= SLOTS; slot++) {
      const master = this.masterOfSlot(start);
      if (slot < SLOTS && this.masterOfSlot(slot) === master) continue;
      ranges.push(`${start}-${slot - 1} ${master ?? 'none'}`);
      start = slot;
    }
    return ranges.join('|');
  }
}
