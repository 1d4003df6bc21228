import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { RotationClaimsRepository } from './rotation-claims.repository';
import { SessionRevocationsRepository } from './session-revocations.repository';
import { SessionsRepository } from './sessions.repository';

/** How long revoked sessions are kept (for the audit trail) before the purge removes them. */
const REVOKED_RETENTION_MS = 24 * 3_600_000;
const PURGE_INTERVAL_MS = 10 * 60_000;

/** Removes what can never be used again, every few minutes. Correctness never depends on it having run. */
@Injectable()
export class SessionsPurge implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SessionsPurge.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly claims: RotationClaimsRepository,
    private readonly revocations: SessionRevocationsRepository,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async purge(now = new Date(this.clock.now())): Promise<void> {
    const revokedBefore = new Date(now.getTime() - REVOKED_RETENTION_MS);
    try {
      // A claim only matters while its rotation is in flight; the retention is generous.
      await this.claims.deleteClaimedUpTo(revokedBefore);
      await this.revocations.deleteExpired(now);
      const removed = await this.sessions.deleteEnded(now, revokedBefore);
      if (removed > 0) this.logger.log(`Purged ${removed} ended sessions`);
    } catch (error) {
      this.logger.warn(`Session purge skipped: ${(error as Error).message}`);
    }
  }
}
