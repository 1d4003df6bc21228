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
  private wasUnavailable = false;

  constructor(
    private readonly redis: Redis,
    /** How long a revocation marker must outlive the revocation: the longest access-token lifetime. */
    private readonly accessTokenTtlMs: number,
    /** Ids of sessions revoked in the database since a date: the record to re-publish from. */
    private readonly revokedSince: (since: Date) => Promise<string[]>,
  ) {
    super();
    // A revocation that reached the database while Redis was down was answered 503 and is not in
    // Redis: when Redis is back, every revocation recent enough to matter is published again.
    redis.on('error', () => (this.wasUnavailable = true));
    redis.on('ready', () => {
      if (!this.wasUnavailable) return;
      this.wasUnavailable = false;
      void this.republishRecentRevocations();
    });
  }

  async republishRecentRevocations(now = new Date()): Promise<void> {
    try {
      const ids = await this.revokedSince(new Date(now.getTime() - this.accessTokenTtlMs - CLOCK_MARGIN_MS));
      await this.recordRevoked(ids);
      if (ids.length > 0) this.logger.log(`Re-published ${ids.length} recent revocations to Redis`);
    } catch (error) {
      this.wasUnavailable = true;
      this.logger.warn(`Could not re-publish revocations: ${(error as Error).message}`);
    }
  }

  async isActive(sessionId: string, userId: string): Promise<boolean> {
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
