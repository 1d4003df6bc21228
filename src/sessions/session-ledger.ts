import { Injectable } from '@nestjs/common';
import { isValidObjectId, Types } from 'mongoose';
import { RotationClaimsRepository } from './rotation-claims.repository';
import { SessionRevocationsRepository } from './session-revocations.repository';
import {
  SessionsRepository,
  type NewSession,
  type RevocationTarget,
  type RotatedFields,
  type SessionRecord,
} from './sessions.repository';

export interface RefreshRotationRequest {
  sessionId: string;
  /** The generation and hash of the token presented: the update happens only if both are current. */
  expectedGeneration: number;
  expectedHash: string;
  nextHash: string;
  now: Date;
  nextIdleExpiresAt: Date;
}

export type RotationAttempt =
  | { status: 'rotated'; session: SessionRecord }
  /** Another request rotated this generation first, at `claimedAt`. */
  | { status: 'claimed'; session: SessionRecord; claimedAt: Date }
  /** The session is not live at this generation with this token (superseded, revoked, ended, unknown). */
  | { status: 'stale' };

/** A rotation takes milliseconds; a claim this old without its write belongs to a request that died. */
const ABANDONED_CLAIM_MS = 30_000;

/**
 * The database's record of sessions across its three collections: the session documents, the rotation
 * claims that let one request rotate a generation, and the revocation records that decide liveness
 * (an insert is atomic on every MongoDB-wire server, whereas an update of the session may be lost).
 */
@Injectable()
export class SessionLedger {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly claims: RotationClaimsRepository,
    private readonly revocations: SessionRevocationsRepository,
  ) {}

  create(session: NewSession): Promise<SessionRecord> {
    return this.sessions.create(session);
  }

  /** The per-request check: the session live, and no revocation record for it, looked up side by side. */
  async isLive(sessionId: string, userId: string, now: Date): Promise<boolean> {
    if (!isValidObjectId(sessionId) || !isValidObjectId(userId)) return false;
    const _id = new Types.ObjectId(sessionId);
    const [live, revoked] = await Promise.all([
      this.sessions.existsLive(_id, new Types.ObjectId(userId), now),
      this.revocations.isRevoked(_id),
    ]);
    return live && !revoked;
  }

  /**
   * Moves the session from the presented refresh token to the next one, at most once per generation:
   * the session must be live with this generation and hash, and the claim `<session>:<generation>`
   * must be ours (an insert that only one request can win).
   */
  async rotateRefreshToken(rotation: RefreshRotationRequest): Promise<RotationAttempt> {
    const { now, sessionId, expectedGeneration } = rotation;
    if (!isValidObjectId(sessionId)) return { status: 'stale' };
    const [current, revoked] = await Promise.all([
      this.sessions.findLiveAtGeneration(sessionId, expectedGeneration, rotation.expectedHash, now),
      this.revocations.isRevoked(new Types.ObjectId(sessionId)),
    ]);
    // A revocation recorded after this check still wins: the tokens issued below belong to a session
    // whose revocation record every later request and refresh finds.
    if (!current || revoked) return { status: 'stale' };

    const next: RotatedFields = {
      generation: expectedGeneration + 1,
      refreshTokenHash: rotation.nextHash,
      lastUsedAt: now,
      rotatedAt: now,
      // The session stays bounded by absoluteExpiresAt: liveness checks both dates.
      idleExpiresAt: rotation.nextIdleExpiresAt,
    };
    const session = { ...current, ...next };
    // Applying the rotation is idempotent (the successor is derived from the generation), so a
    // request that lost the claim applies it too: if the winner died between its claim and this
    // write, the session does not stay stuck at a generation that is already claimed. A logout racing
    // with this write may see its `revokedAt` lost on FerretDB; its revocation record is not.
    const claim = await this.claims.claim(sessionId, expectedGeneration, now);
    const completed = await this.sessions.applyRotation(sessionId, expectedGeneration, next);
    if (claim.won) return { status: 'rotated', session };
    // A claim long past whose rotation was never written: its request died. This one finished it,
    // so it counts as this request's own rotation rather than as reuse of a legitimate token.
    if (completed && now.getTime() - claim.claimedAt.getTime() > ABANDONED_CLAIM_MS) {
      return { status: 'rotated', session };
    }
    return { status: 'claimed', session, claimedAt: claim.claimedAt };
  }

  /** Revokes and forgets the refresh token; false when it was revoked already or does not exist. */
  async revoke(sessionId: string, reason: string, now: Date): Promise<boolean> {
    const session = await this.sessions.findRevocationTarget(sessionId);
    if (!session) return false;
    return (await this.recordRevocations([session], reason, now)).length === 1;
  }

  /** Revokes the user's session `sessionId` if it is live; false when it is not the user's or not live. */
  async revokeLiveOfUser(sessionId: string, userId: string, reason: string, now: Date): Promise<boolean> {
    const session = await this.sessions.findLiveRevocationTargetOfUser(sessionId, userId, now);
    if (!session) return false;
    return (await this.recordRevocations([session], reason, now)).length === 1;
  }

  /**
   * Revokes every session of the user but `exceptSessionId`, and returns the ids of all of them, those
   * revoked before included: the shared revocation store needs them, and a retry after a failed
   * publication must publish every one again.
   */
  async revokeAllOfUser(userId: string, reason: string, now: Date, exceptSessionId?: string): Promise<string[]> {
    const sessions = await this.sessions.listRevocationTargetsOfUser(userId, exceptSessionId);
    await this.recordRevocations(
      sessions.filter((session) => session.revokedAt === null),
      reason,
      now,
    );
    return sessions.map((session) => session._id.toHexString());
  }

  /**
   * Records revocations, first the authoritative record (an insert per session), then the session
   * documents. Returns the ids this call revoked; those already revoked are left out.
   */
  private async recordRevocations(sessions: RevocationTarget[], reason: string, now: Date): Promise<Types.ObjectId[]> {
    if (sessions.length === 0) return [];
    const inserted = await this.revocations.recordAll(sessions, reason, now);
    const ids = sessions.map((session) => session._id);
    await this.sessions.markRevoked(ids, reason, now);
    return ids.filter((_id, index) => inserted[index]);
  }

  isRevokedOfUser(sessionId: string, userId: string): Promise<boolean> {
    return this.revocations.isRevokedOfUser(sessionId, userId);
  }

  updateCredentialsVersion(sessionId: string, credentialsVersion: string): Promise<void> {
    return this.sessions.updateCredentialsVersion(sessionId, credentialsVersion);
  }

  async listLiveOfUser(userId: string, now: Date): Promise<SessionRecord[]> {
    const sessions = await this.sessions.listLiveOfUser(userId, now);
    const revoked = await this.revocations.listRevokedAmong(sessions.map((session) => session._id));
    return sessions.filter((session) => !revoked.has(session._id.toHexString()));
  }

  /** The session, with `revokedAt` from its revocation record when there is one. */
  async findById(sessionId: string): Promise<SessionRecord | null> {
    const [session, revokedAt] = await Promise.all([
      this.sessions.findById(sessionId),
      this.revocations.findRevokedAt(sessionId),
    ]);
    if (!session || !revokedAt) return session;
    return { ...session, revokedAt };
  }

  deleteAllOfUser(userId: string): Promise<void> {
    return this.sessions.deleteAllOfUser(userId);
  }
}
