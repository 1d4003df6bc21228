import { Injectable } from '@nestjs/common';
import { SessionsRepository } from '../sessions.repository';
import { SessionStateStore } from './session-state.store';

/** Without Redis: the sessions collection itself, one lookup by primary key per request. */
@Injectable()
export class DatabaseSessionState extends SessionStateStore {
  constructor(private readonly sessionsRepository: SessionsRepository) {
    super();
  }

  isActive(sessionId: string, userId: string, now: Date): Promise<boolean> {
    return this.sessionsRepository.isLive(sessionId, userId, now);
  }

  /** The session document already says everything. */
  async recordIssued(): Promise<void> {}

  /** The revocation is already in the database every instance reads. */
  async recordRevoked(): Promise<void> {}
}
