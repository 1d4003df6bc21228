import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { askRedis, StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { SessionStateStore } from './session-state.store';

/** Added to every key's lifetime, for clocks that differ between instances. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * With Redis: `live:<sid>` (value: user id) exists while an access token of the session may be
 * valid, and `revoked:<sid>` marks a revocation. A request is accepted only when the first names the
 * token's user and the second is absent: one MGET.
 *
 * Both keys fail closed. If Redis loses its data, `live` keys are gone and tokens are refused until
 * the client refreshes (refresh goes through the database, which refuses revoked sessions). The
 * `revoked` key wins over a `live` key that a refresh racing with a logout may write afterwards.
 */
export class RedisSessionState extends SessionStateStore {
  private readonly logger = new Logger('RedisSessionState');
  /** Set by any loss of the connection, cleared once recent revocations are in Redis again. */
  private republishNeeded = false;
  /** Counts connection losses, so that a re-publication overtaken by a newer loss does not count. */
  private connectionLosses = 0;
  private republishing?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    /** How long a revocation marker must outlive the revocation: the longest access-token lifetime. */
    private readonly accessTokenTtlMs: number,
    /** Ids of sessions revoked in the database since a date: the record to re-publish from. */
    private readonly revokedSince: (since: Date) => Promise<string[]>,
  ) {
    super();
    // A revocation that reached the database while Redis was down was answered 503 and is not in
    // Redis: when Redis is back, every revocation recent enough to matter is published again, and
    // until that is done no token is checked against Redis (503). Any loss counts, not only one that
    // ioredis reports as an error: a Redis back before the first reconnection attempt emits none.
    const lost = () => {
      this.republishNeeded = true;
      this.connectionLosses += 1;
    };
    redis.on('error', lost);
    redis.on('close', lost);
    redis.on('end', lost);
    redis.on('ready', () => void this.republishIfNeeded());
  }

  /** Publishes recent revocations again; true when they are all in Redis. */
  async republishRecentRevocations(now = new Date()): Promise<boolean> {
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

  private republishIfNeeded(): Promise<void> {
    if (!this.republishNeeded) return Promise.resolve();
    this.republishing ??= (async () => {
      const losses = this.connectionLosses;
      const done = await this.republishRecentRevocations();
      if (done && losses === this.connectionLosses) this.republishNeeded = false;
    })().finally(() => (this.republishing = undefined));
    return this.republishing;
  }

  async isActive(sessionId: string, userId: string): Promise<boolean> {
    if (this.republishNeeded) {
      // Connected again but the last attempt failed (the database was down too): try again, driven by
      // traffic rather than a timer; while Redis itself is down, nothing is attempted.
      if (this.redis.status === 'ready') void this.republishIfNeeded();
      throw new StateStoreUnavailableError('Redis is back; recent revocations are being re-published');
    }
    const [live, revoked] = await askRedis(() => this.redis.mget(liveKey(sessionId), revokedKey(sessionId)));
    return live === userId && revoked === null;
  }

  async recordIssued(sessionId: string, userId: string, accessTokenExpiresAt: Date): Promise<void> {
    // A token issued later never expires before one issued earlier (same lifetime, same session end),
    // so overwriting the expiry never shortens it.
    const ttlMs = Math.max(1, accessTokenExpiresAt.getTime() - Date.now()) + CLOCK_MARGIN_MS;
    await askRedis(() => this.redis.set(liveKey(sessionId), userId, 'PX', ttlMs));
  }

  async recordRevoked(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const ttlMs = this.accessTokenTtlMs + CLOCK_MARGIN_MS;
    const transaction = this.redis.multi();
    for (const sessionId of sessionIds) {
      transaction.set(revokedKey(sessionId), '1', 'PX', ttlMs);
      transaction.del(liveKey(sessionId));
    }
    const results = await askRedis(() => transaction.exec());
    const failed = results?.find(([error]) => error);
    if (!results || failed)
      throw new StateStoreUnavailableError(`Redis refused the revocation: ${failed?.[0]?.message ?? 'aborted'}`);
  }
}

function liveKey(sessionId: string): string {
  return `slj:session:live:${sessionId}`;
}

function revokedKey(sessionId: string): string {
  return `slj:session:revoked:${sessionId}`;
}
