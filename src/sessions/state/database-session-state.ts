import { Injectable } from '@nestjs/common';
import { SessionLedger } from '../session-ledger';
import { SessionStateStore } from './session-state.store';

/** Without Redis: the database itself, one lookup by primary key per request in each of two collections. */
@Injectable()
export class DatabaseSessionState extends SessionStateStore {
  constructor(private readonly ledger: SessionLedger) {
    super();
  }

  isActive(sessionId: string, userId: string, now: Date): Promise<boolean> {
    return this.ledger.isLive(sessionId, userId, now);
  }

  /** The session document already says everything. */
  async recordIssued(): Promise<void> {}

  /** The revocation is already in the database every instance reads. */
  async recordRevoked(): Promise<void> {}
}
