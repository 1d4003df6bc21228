import { Inject, Injectable } from '@nestjs/common';
import { Types } from 'mongoose';
import { authConfig, type AuthConfig } from '../config';
import { RefreshTokenCodec } from './refresh-token.codec';
import { SessionsRepository, type SessionRecord } from './sessions.repository';

export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

export interface IssuedRefreshToken {
  sessionId: string;
  userId: string;
  refreshToken: string;
  /** When this refresh token stops working unless used: the idle window, capped by the session's end. */
  expiresAt: Date;
}

export type RevocationReason = 'logout';

@Injectable()
export class SessionsService {
  constructor(
    private readonly sessionsRepository: SessionsRepository,
    private readonly refreshTokens: RefreshTokenCodec,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  async start(userId: string, client: ClientInfo, now = new Date()): Promise<IssuedRefreshToken> {
    const id = new Types.ObjectId();
    const refreshToken = this.refreshTokens.encode(id.toHexString(), 0);
    const session = await this.sessionsRepository.create({
      id,
      userId,
      refreshTokenHash: this.refreshTokens.hash(refreshToken),
      now,
      idleExpiresAt: new Date(now.getTime() + this.config.refreshTokenTtlMs),
      absoluteExpiresAt: new Date(now.getTime() + this.config.sessionMaxLifetimeMs),
      userAgent: client.userAgent,
      ip: client.ip,
    });
    return this.issued(session, refreshToken);
  }

  /**
   * Exchanges a refresh token for its successor. Null when the token is forged, stale, already used,
   * or its session has ended; the state change is one compare-and-set in the database.
   */
  async rotate(presentedToken: unknown, now = new Date()): Promise<IssuedRefreshToken | null> {
    const decoded = this.refreshTokens.decode(presentedToken);
    if (!decoded) return null;
    const nextToken = this.refreshTokens.encode(decoded.sessionId, decoded.generation + 1);
    const session = await this.sessionsRepository.rotateRefreshToken({
      sessionId: decoded.sessionId,
      expectedGeneration: decoded.generation,
      expectedHash: this.refreshTokens.hash(presentedToken as string),
      nextHash: this.refreshTokens.hash(nextToken),
      now,
      nextIdleExpiresAt: new Date(now.getTime() + this.config.refreshTokenTtlMs),
    });
    return session ? this.issued(session, nextToken) : null;
  }

  isLive(sessionId: string, userId: string, now = new Date()): Promise<boolean> {
    return this.sessionsRepository.isLive(sessionId, userId, now);
  }

  revoke(sessionId: string, reason: RevocationReason, now = new Date()): Promise<boolean> {
    return this.sessionsRepository.revoke(sessionId, reason, now);
  }

  private issued(session: SessionRecord, refreshToken: string): IssuedRefreshToken {
    const expiresAt =
      session.idleExpiresAt < session.absoluteExpiresAt ? session.idleExpiresAt : session.absoluteExpiresAt;
    return { sessionId: session._id.toHexString(), userId: session.userId.toHexString(), refreshToken, expiresAt };
  }
}
