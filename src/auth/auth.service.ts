import { Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import { SessionsService, type ClientInfo, type IssuedRefreshToken } from '../sessions/sessions.service';
import type { LiveSession } from '../sessions/live-session';
import type { UserAccount } from '../users/user-account';
import { toUsernameKey } from '../users/schemas/user.schema';
import { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import type { AuthenticatedUser } from '../identity/authenticated-user';
import { AuditLogger } from '../logging/audit-logger.service';
import { LoginThrottleService, refundIfBusy } from '../login-throttle/login-throttle.service';

export interface IssuedTokens {
  user: UserAccount;
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

export interface SessionView {
  session: LiveSession;
  current: boolean;
}

export const LOGIN_FAILED = 'Invalid username or password';

@Injectable()
export class AuthService {
  constructor(
    private readonly usersService: UsersService,
    private readonly sessionsService: SessionsService,
    private readonly accessTokens: AccessTokenService,
    private readonly loginThrottle: LoginThrottleService,
    private readonly audit: AuditLogger,
  ) {}

  register(username: string, password: string): Promise<UserAccount> {
    return this.usersService.register(username, password);
  }

  /** One failure message for an unknown user and a wrong password alike. */
  async login(username: string, password: string, client: ClientInfo): Promise<IssuedTokens> {
    const refund = await this.loginThrottle.beginAttempt(toUsernameKey(username), client.ip);
    const user = await this.usersService.verifyCredentials(username, password).catch(refundIfBusy(refund));
    if (!user) {
      // The account's id, never the name as typed: people type passwords into username fields.
      const userId = await this.usersService.findIdByUsername(username);
      this.audit.record('login_failed', {
        userId: userId ?? undefined,
        unknownUsername: userId === null,
        ip: client.ip ?? undefined,
      });
      throw new UnauthorizedException(LOGIN_FAILED);
    }
    const { id: userId, credentialsVersion } = user;
    const [, session] = await Promise.all([
      this.loginThrottle.recordSuccess(toUsernameKey(username), client.ip),
      this.sessionsService.start(userId, client, credentialsVersion),
    ]);
    // The password was checked against credentials read before the session existed: a password change
    // or deletion in between has not revoked this session, so it must not be handed out.
    if (!(await this.usersService.credentialsUnchanged(userId, credentialsVersion))) {
      await this.sessionsService.revoke(session.sessionId, 'credentials_changed');
      this.audit.record('login_failed', { userId, credentialsChanged: true, ip: client.ip ?? undefined });
      throw new UnauthorizedException(LOGIN_FAILED);
    }
    const tokens = await this.issueTokens(user, session);
    this.audit.record('login_succeeded', {
      userId: session.userId,
      sessionId: session.sessionId,
      ip: client.ip ?? undefined,
    });
    return tokens;
  }

  /** Forged, stale, reused (the session is then revoked) or ended: one answer, 401. */
  async refresh(refreshToken: unknown): Promise<IssuedTokens> {
    const result = await this.sessionsService.rotate(refreshToken);
    if (result.outcome === 'invalid' || result.outcome === 'reuse') throw new InvalidTokenException(true);
    const { issued } = result;
    const user = await this.usersService.findById(issued.userId);
    if (!user || user.credentialsVersion !== issued.credentialsVersion) {
      await this.sessionsService.revoke(issued.sessionId, user ? 'password_changed' : 'user_deleted');
      throw new InvalidTokenException(true);
    }
    return this.issueTokens(user, issued);
  }

  async logout(caller: AuthenticatedUser): Promise<void> {
    await this.sessionsService.revoke(caller.sessionId, 'logout');
    this.audit.record('logout', { userId: caller.userId, sessionId: caller.sessionId });
  }

  async logoutAll(caller: AuthenticatedUser): Promise<void> {
    await this.sessionsService.revokeAllOfUser(caller.userId, 'logout_all');
    this.audit.record('logout_all', { userId: caller.userId, sessionId: caller.sessionId });
  }

  async listSessions(caller: AuthenticatedUser): Promise<SessionView[]> {
    const sessions = await this.sessionsService.listLive(caller.userId);
    return sessions.map((session) => ({ session, current: session.id === caller.sessionId }));
  }

  /** 404 for a session that is not the caller's (or no longer live): its existence is not disclosed. */
  async revokeSession(caller: AuthenticatedUser, sessionId: string): Promise<void> {
    if (!(await this.sessionsService.revokeOwn(caller.userId, sessionId, 'session_deleted'))) {
      throw new NotFoundException('Session not found');
    }
    this.audit.record('session_revoked', {
      userId: caller.userId,
      sessionId: caller.sessionId,
      revokedSessionId: sessionId,
    });
  }

  /** The guard's check after the signature: well-formed claims of a session that is still live. */
  async authenticateAccessToken(payload: unknown): Promise<AuthenticatedUser | null> {
    const claims = this.accessTokens.parseClaims(payload);
    if (!claims) return null;
    if (!(await this.sessionsService.isActive(claims.sid, claims.sub))) return null;
    return { userId: claims.sub, sessionId: claims.sid, roles: claims.roles };
  }

  private async issueTokens(user: UserAccount, session: IssuedRefreshToken): Promise<IssuedTokens> {
    const access = await this.accessTokens.issue(user.id, session.sessionId, user.roles, session.expiresAt);
    await this.sessionsService.recordAccessTokenIssued(session.sessionId, user.id, access.expiresAt);
    return {
      user,
      accessToken: access.accessToken,
      expiresIn: access.expiresIn,
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.expiresAt,
    };
  }
}
