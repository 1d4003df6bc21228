import { Inject, Injectable } from '@nestjs/common';
import { Types } from 'mongoose';
import { Subject, type Observable } from 'rxjs';
import { Clock } from '../common/clock/clock';
import { authConfig, type AuthConfig } from '../config';
import { AuditLogger } from '../logging/audit-logger.service';
import type { LiveSession } from './live-session';
import { RefreshTokenCodec } from './refresh-token.codec';
import { SessionLedger } from './session-ledger';
import { SessionRevocationsRepository } from './session-revocations.repository';
import type { SessionRecord } from './sessions.repository';
import { SessionStateStore } from './state/session-state.store';

export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

export interface IssuedRefreshToken {
  sessionId: string;
  userId: string;
  refreshToken: string;
  /** The user's credentials version the session was created with. */
  credentialsVersion: string | null;
  /**
   * When the session ends unless refreshed: the idle window, capped by its absolute end. Neither the
   * refresh token nor any access token of the session outlives it.
   */
  expiresAt: Date;
}

export type RotationResult =
  | { outcome: 'rotated' | 'grace'; issued: IssuedRefreshToken }
  /** A genuine but superseded token: theft is assumed and the session has been revoked. */
  | { outcome: 'reuse'; sessionId: string; userId: string }
  /** Forged, malformed, or of a session that has ended. */
  | { outcome: 'invalid' };

/** Sessions this instance has just revoked, at `at` (the Clock's time). */
export interface LocalRevocation {
  sessionIds: string[];
  at: Date;
}

export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'session_deleted'
  | 'password_changed'
  | 'refresh_reuse'
  | 'user_deleted'
  /** A login whose password was checked against credentials changed or deleted meanwhile. */
  | 'credentials_changed';

@Injectable()
export class SessionsService {
  private readonly revoked = new Subject<LocalRevocation>();

  constructor(
    private readonly ledger: SessionLedger,
    private readonly revocationRecords: SessionRevocationsRepository,
    private readonly refreshTokens: RefreshTokenCodec,
    private readonly state: SessionStateStore,
    private readonly audit: AuditLogger,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    /** Every lifetime (idle, absolute, the reuse grace) is counted in its time. */
    private readonly clock: Clock,
  ) {}

  async start(
    userId: string,
    client: ClientInfo,
    credentialsVersion: string | null,
    now = this.now(),
  ): Promise<IssuedRefreshToken> {
    const id = new Types.ObjectId();
    const refreshToken = this.refreshTokens.encode(id.toHexString(), 0);
    const session = await this.ledger.create({
      id,
      userId,
      refreshTokenHash: this.refreshTokens.hash(refreshToken),
      now,
      idleExpiresAt: new Date(now.getTime() + this.config.refreshTokenTtlMs),
      absoluteExpiresAt: new Date(now.getTime() + this.config.sessionMaxLifetimeMs),
      userAgent: client.userAgent,
      ip: client.ip,
      credentialsVersion,
    });
    return this.issued(session, refreshToken);
  }

  /**
   * Exchanges a refresh token for its successor. Exactly one request can rotate a generation (see
   * SessionLedger.rotateRefreshToken). Any other request with the same token finds it
   * superseded: the token rotated last, presented again within REFRESH_REUSE_GRACE (parallel tabs, a
   * lost response), gets the same successor again; any other genuine but superseded token is reuse,
   * and the whole session is revoked.
   */
  async rotate(presentedToken: unknown, now = this.now()): Promise<RotationResult> {
    const decoded = this.refreshTokens.decode(presentedToken);
    if (!decoded) return { outcome: 'invalid' };
    const { sessionId, generation } = decoded;
    const nextToken = this.refreshTokens.encode(sessionId, generation + 1);

    const attempt = await this.ledger.rotateRefreshToken({
      sessionId,
      expectedGeneration: generation,
      expectedHash: this.refreshTokens.hash(presentedToken as string),
      nextHash: this.refreshTokens.hash(nextToken),
      now,
      nextIdleExpiresAt: new Date(now.getTime() + this.config.refreshTokenTtlMs),
    });
    if (attempt.status === 'rotated') return { outcome: 'rotated', issued: this.issued(attempt.session, nextToken) };

    // A concurrent request rotated this very generation: the grace period runs from its claim.
    if (attempt.status === 'claimed') {
      if (this.withinGrace(attempt.claimedAt, now))
        return { outcome: 'grace', issued: this.issued(attempt.session, nextToken) };
      return this.reuseDetected(sessionId, attempt.session.userId.toHexString(), generation, generation + 1, now);
    }

    const session = await this.ledger.findById(sessionId);
    if (!session || !isLive(session, now)) return { outcome: 'invalid' };
    if (session.generation === generation + 1 && session.rotatedAt && this.withinGrace(session.rotatedAt, now)) {
      return { outcome: 'grace', issued: this.issued(session, nextToken) };
    }
    if (generation < session.generation) {
      return this.reuseDetected(sessionId, session.userId.toHexString(), generation, session.generation, now);
    }
    return { outcome: 'invalid' };
  }

  private withinGrace(rotatedAt: Date, now: Date): boolean {
    const grace = this.config.refreshReuseGraceMs;
    return grace > 0 && now.getTime() - rotatedAt.getTime() <= grace;
  }

  /** A genuine but superseded refresh token: whoever holds it, the session is no longer safe. */
  private async reuseDetected(
    sessionId: string,
    userId: string,
    presentedGeneration: number,
    currentGeneration: number,
    now: Date,
  ): Promise<RotationResult> {
    await this.revoke(sessionId, 'refresh_reuse', now);
    this.audit.record('refresh_reuse_detected', { userId, sessionId, presentedGeneration, currentGeneration });
    return { outcome: 'reuse', sessionId, userId };
  }

  /** The per-request check: one lookup in the shared state store. */
  isActive(sessionId: string, userId: string, now = this.now()): Promise<boolean> {
    return this.state.isActive(sessionId, userId, now);
  }

  /** Makes the session usable on every instance until its newest access token expires. */
  recordAccessTokenIssued(sessionId: string, userId: string, expiresAt: Date): Promise<void> {
    return this.state.recordIssued(sessionId, userId, expiresAt);
  }

  async listLive(userId: string, now = this.now()): Promise<LiveSession[]> {
    return (await this.ledger.listLiveOfUser(userId, now)).map(toLiveSession);
  }

  // Each revocation is written to the database first (the record), then to the store that every
  // instance reads per request; only then does the caller answer.

  async revoke(sessionId: string, reason: RevocationReason, now = this.now()): Promise<void> {
    await this.ledger.revoke(sessionId, reason, now);
    // Published even if it was revoked already: an earlier publication may have failed.
    await this.state.recordRevoked([sessionId]);
    this.revoked.next({ sessionIds: [sessionId], at: now });
  }

  /** False when the session is not the user's, or has already ended. */
  async revokeOwn(userId: string, sessionId: string, reason: RevocationReason, now = this.now()): Promise<boolean> {
    const found = await this.ledger.revokeLiveOfUser(sessionId, userId, reason, now);
    // Revoked already, perhaps by an attempt whose publication failed: publish it again all the same.
    if (found || (await this.ledger.isRevokedOfUser(sessionId, userId))) {
      await this.state.recordRevoked([sessionId]);
      this.revoked.next({ sessionIds: [sessionId], at: now });
    }
    return found;
  }

  /** The session that changed the password keeps working under the new credentials. */
  updateCredentialsVersion(sessionId: string, credentialsVersion: string): Promise<void> {
    return this.ledger.updateCredentialsVersion(sessionId, credentialsVersion);
  }

  async revokeAllOfUser(
    userId: string,
    reason: RevocationReason,
    exceptSessionId?: string,
    now = this.now(),
  ): Promise<void> {
    const revokedIds = await this.ledger.revokeAllOfUser(userId, reason, now, exceptSessionId);
    await this.state.recordRevoked(revokedIds);
    if (revokedIds.length > 0) this.revoked.next({ sessionIds: revokedIds, at: now });
  }

  /**
   * The revocations this instance makes, as it makes them (after the database and the per-request store
   * have them). Other instances' revocations are in the database: revokedSince.
   */
  get revocations(): Observable<LocalRevocation> {
    return this.revoked.asObservable();
  }

  /** The revocations of every instance recorded after `since`, oldest first. */
  revokedSince(since: Date): Promise<Array<{ sessionId: string; revokedAt: Date }>> {
    return this.revocationRecords.listRevokedSince(since, this.now());
  }

  /** Revokes every session first (so no token of them is accepted anywhere), then forgets them. */
  async deleteAllOfUser(userId: string, now = this.now()): Promise<void> {
    await this.revokeAllOfUser(userId, 'user_deleted', undefined, now);
    await this.ledger.deleteAllOfUser(userId);
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  private issued(session: SessionRecord, refreshToken: string): IssuedRefreshToken {
    const expiresAt =
      session.idleExpiresAt < session.absoluteExpiresAt ? session.idleExpiresAt : session.absoluteExpiresAt;
    return {
      sessionId: session._id.toHexString(),
      userId: session.userId.toHexString(),
      refreshToken,
      credentialsVersion: session.credentialsVersion ?? null,
      expiresAt,
    };
  }
}

function isLive(session: SessionRecord, now: Date): boolean {
  return session.revokedAt === null && session.idleExpiresAt > now && session.absoluteExpiresAt > now;
}

function toLiveSession(session: SessionRecord): LiveSession {
  return {
    id: session._id.toHexString(),
    createdAt: session.createdAt,
    lastUsedAt: session.lastUsedAt,
    userAgent: session.userAgent,
    ip: session.ip,
  };
}
