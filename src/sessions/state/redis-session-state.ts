import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Cluster } from 'ioredis';
import type { Clock } from '../../common/clock/clock';
import { askRedis, StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { ClusterMasters } from '../../redis/cluster-masters';
import type { RedisConnection } from '../../redis/redis-connection.factory';
import { SessionStateStore } from './session-state.store';

/** Added to every key's lifetime, for clocks that differ between instances. */
const CLOCK_MARGIN_MS = 60_000;
/** Re-publication is retried on traffic, but at most this often while Redis keeps refusing it. */
const REPUBLISH_RETRY_MS = 1_000;
/** How often every instance looks for revocations in the database that Redis lacks (see catchUp). */
const CATCH_UP_INTERVAL_MS = 2_000;
/** A re-publication still running after this long is given up on (and retried): the client may have lost it. */
const REPUBLISH_TIMEOUT_MS = 10_000;
/** Sessions written (or looked up) side by side: a large re-publication goes in batches of this many. */
const BATCH_SIZE = 500;

/**
 * With Redis: `{<sid>}:live` (value: user id) exists while an access token of the session may be
 * valid, and `{<sid>}:revoked` marks a revocation. A request is accepted only when the first names the
 * token's user and the second is absent: one MGET. The braces put both keys of a session in one hash
 * slot, so that on a Redis Cluster the check stays one command on one node.
 *
 * Both keys fail closed. If Redis loses its data, `live` keys are gone and tokens are refused until
 * the client refreshes (refresh goes through the database, which refuses revoked sessions). The
 * `revoked` key wins over a `live` key that a refresh racing with a logout may write afterwards.
 *
 * A revocation that Redis did not take (the connection lost, or a write refused while connected:
 * out of memory, a read-only replica, a timeout) leaves Redis behind the database. From then on this
 * instance answers every check with 503 until the database's recent revocations are in Redis again.
 * The other instances learn of it within seconds: each one regularly looks for recent revocations
 * that Redis lacks, publishes them, and fails closed in turn if Redis refuses it as well.
 *
 * Redis replicates asynchronously: a master that dies may take revocations it had acknowledged with it,
 * and the replica promoted in its place may still hold those sessions' live keys. Losing a connection
 * (to the server, or to any node of a cluster once it was ready), and on a cluster any change of a
 * slot's master, therefore count as a loss: no check is answered from Redis until the database's recent
 * revocations have been published again. A check during which such a loss happened is refused too,
 * since the client may have followed a redirection to the promoted replica.
 */
export class RedisSessionState extends SessionStateStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RedisSessionState');
  /**
   * On a cluster: where each slot is served, to notice a new master. Elsewhere (one server or
   * Sentinel), keys written before the hash tags are still read until they expire.
   */
  private readonly clusterMasters?: ClusterMasters;
  /** Set by any loss of the connection or refused revocation, cleared once Redis has caught up again. */
  private republishNeeded = false;
  /** Counts those events, so that a re-publication overtaken by a newer one does not count. */
  private staleEvents = 0;
  private republishing?: Promise<void>;
  private lastRepublishAt = 0;
  private catchUpTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisConnection,
    /** How long a revocation marker must outlive the revocation: the longest access-token lifetime. */
    private readonly accessTokenTtlMs: number,
    /** Ids of sessions revoked in the database since a date: the record to re-publish from. */
    private readonly revokedSince: (since: Date) => Promise<string[]>,
    /**
     * The time revocations are recorded in, and access tokens expire in: the windows looked back over and
     * the keys' lifetimes are counted in it. Redis then counts each lifetime down on its own clock.
     */
    private readonly clock: Clock,
  ) {
    super();
    // A revocation that reached the database while Redis was down was answered 503 and is not in
    // Redis: when Redis is back, every revocation recent enough to matter is published again, and
    // until that is done no token is checked against Redis (503). Any loss counts, not only one that
    // ioredis reports as an error: a Redis back before the first reconnection attempt emits none.
    const lost = () => this.markStale();
    redis.on('error', lost);
    redis.on('close', lost);
    redis.on('end', lost);
    redis.on('ready', () => void this.republishIfNeeded());
    if (redis instanceof Cluster) {
      // Before the first slot map, seed nodes named differently from the map's (a host name, an
      // address) are dropped: no loss then.
      let ready = false;
      redis.once('ready', () => (ready = true));
      redis.on('-node', () => ready && this.markStale());
      this.clusterMasters = new ClusterMasters(redis, lost);
    }
  }

  onModuleInit(): void {
    this.catchUpTimer = setInterval(() => void this.catchUp(), CATCH_UP_INTERVAL_MS);
    this.catchUpTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.catchUpTimer);
    this.clusterMasters?.stop();
  }

  /**
   * Publishes the revocations of the last minute (the clock margin) that Redis has no marker for: those
   * whose publication failed on another instance. Reads only, unless something is missing.
   */
  async catchUp(now = new Date(this.clock.now())): Promise<void> {
    if (this.redis.status !== 'ready') return;
    // Stale: re-publish everything recent instead (recovery does not wait for traffic).
    if (this.republishNeeded) return this.republishIfNeeded();
    try {
      const ids = await this.revokedSince(new Date(now.getTime() - CLOCK_MARGIN_MS));
      if (ids.length === 0) return;
      // One command per key: on a cluster the markers live in different slots.
      const missing: string[] = [];
      for (const batch of batches(ids)) {
        const markers = await askRedis(() => Promise.all(batch.map((id) => this.redis.exists(revokedKey(id)))));
        missing.push(...batch.filter((_id, index) => markers[index] === 0));
      }
      if (missing.length === 0) return;
      this.logger.warn(`Publishing ${missing.length} revocations that Redis lacked`);
      await this.recordRevoked(missing);
    } catch (error) {
      // A refused write has marked this store stale (503 until re-published); a failed read changes nothing.
      this.logger.warn(`Revocation catch-up failed: ${(error as Error).message}`);
    }
  }

  /** Publishes recent revocations again; true when they are all in Redis. */
  async republishRecentRevocations(now = new Date(this.clock.now())): Promise<boolean> {
    try {
      const ids = await this.revokedSince(new Date(now.getTime() - this.accessTokenTtlMs - CLOCK_MARGIN_MS));
      await this.recordRevoked(ids);
      if (ids.length > 0) this.logger.log(`Re-published ${ids.length} recent revocations to Redis`);
      return true;
    } catch (error) {
      this.logger.warn(`Could not re-publish revocations: ${(error as Error).message}`);
      return false;
    }
  }

  private markStale(): void {
    this.republishNeeded = true;
    this.staleEvents += 1;
  }

  private republishIfNeeded(): Promise<void> {
    if (!this.republishNeeded) return Promise.resolve();
    this.republishing ??= (async () => {
      this.lastRepublishAt = Date.now();
      const events = this.staleEvents;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timed out'>(
        (resolve) => (timer = setTimeout(resolve, REPUBLISH_TIMEOUT_MS, 'timed out')),
      );
      const outcome = await Promise.race([this.republishRecentRevocations(), timedOut]).finally(() =>
        clearTimeout(timer),
      );
      if (outcome === 'timed out')
        this.logger.warn(`Re-publication unfinished after ${REPUBLISH_TIMEOUT_MS} ms (Redis is ${this.redis.status})`);
      const done = outcome === true;
      if (done && events === this.staleEvents) this.republishNeeded = false;
    })().finally(() => (this.republishing = undefined));
    return this.republishing;
  }

  async isActive(sessionId: string, userId: string): Promise<boolean> {
    if (this.republishNeeded) {
      // Connected again but the last attempt failed (the database was down too): try again, driven by
      // traffic rather than a timer; while Redis itself is down, nothing is attempted.
      if (this.redis.status === 'ready' && Date.now() - this.lastRepublishAt >= REPUBLISH_RETRY_MS)
        void this.republishIfNeeded();
      throw new StateStoreUnavailableError(
        `Redis is ${this.redis.status}: recent revocations must be published again before checks resume`,
      );
    }
    const events = this.staleEvents;
    const live = liveKey(sessionId);
    const slotMaster = this.clusterMasters?.watch(live);
    const [liveUser, revoked] = await askRedis(() => this.redis.mget(live, revokedKey(sessionId)));
    this.refuseIfLostDuring(events, slotMaster);
    if (revoked !== null) return false;
    if (liveUser !== null || this.clusterMasters) return liveUser === userId;
    // Tokens issued by an earlier version, whose keys had no hash tag, stay usable until they expire.
    // A revocation recorded by such a version is published under the new keys by the catch-up.
    const [legacyLive, legacyRevoked] = await askRedis(() =>
      this.redis.mget(legacyKey('live', sessionId), legacyKey('revoked', sessionId)),
    );
    this.refuseIfLostDuring(events);
    return legacyLive === userId && legacyRevoked === null;
  }

  /** An answer read across a loss, or from a slot whose master changed meanwhile, is not trusted. */
  private refuseIfLostDuring(events: number, slotMaster?: { changed(): boolean }): void {
    const moved = slotMaster?.changed() ?? false;
    if (moved) this.markStale();
    if (moved || events !== this.staleEvents)
      throw new StateStoreUnavailableError('Redis changed during the check; recent revocations are being re-published');
  }

  async recordIssued(sessionId: string, userId: string, accessTokenExpiresAt: Date): Promise<void> {
    // A token issued later never expires before one issued earlier (same lifetime, same session end),
    // so overwriting the expiry never shortens it.
    const ttlMs = Math.max(1, accessTokenExpiresAt.getTime() - this.clock.now()) + CLOCK_MARGIN_MS;
    await askRedis(() => this.redis.set(liveKey(sessionId), userId, 'PX', ttlMs));
  }

  async recordRevoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttlMs = this.accessTokenTtlMs + CLOCK_MARGIN_MS;
    try {
      for (const batch of batches(sessionIds)) {
        // One transaction per session: on a cluster a transaction cannot span slots.
        const outcomes = await askRedis(() =>
          Promise.all(
            batch.map((sessionId) =>
              this.redis.multi().set(revokedKey(sessionId), '1', 'PX', ttlMs).del(liveKey(sessionId)).exec(),
            ),
          ),
        );
        for (const results of outcomes) {
          const failed = results?.find(([error]) => error);
          if (!results || failed)
            throw new StateStoreUnavailableError(`Redis refused the revocation: ${failed?.[0]?.message ?? 'aborted'}`);
        }
      }
    } catch (error) {
      // Some of these sessions may still be live in Redis: no check here may trust it until it caught up.
      this.markStale();
      throw error;
    }
  }
}

function batches<T>(items: T[]): T[][] {
  return Array.from({ length: Math.ceil(items.length / BATCH_SIZE) }, (_, i) =>
    items.slice(i * BATCH_SIZE, (i + 1) * BATCH_SIZE),
  );
}

function liveKey(sessionId: string): string {
  return `slj:session:{${sessionId}}:live`;
}

function revokedKey(sessionId: string): string {
  return `slj:session:{${sessionId}}:revoked`;
}

function legacyKey(kind: 'live' | 'revoked', sessionId: string): string {
  return `slj:session:${kind}:${sessionId}`;
}
