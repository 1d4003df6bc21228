import { Injectable, UnauthorizedException } from '@nestjs/common';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import { SessionsService, type ClientInfo, type IssuedRefreshToken } from '../sessions/sessions.service';
import type { UserRecord } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import { LoginThrottleService } from './login-throttle.service';
import type { AuthenticatedUser } from './authenticated-user';

export interface IssuedTokens {
  user: UserRecord;
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

export const LOGIN_FAILED = 'Invalid username or password';

@Injectable()
export class AuthService {
  constructor(
    private readonly usersService: UsersService,
    private readonly sessionsService: SessionsService,
    private readonly accessTokens: AccessTokenService,
    private readonly loginThrottle: LoginThrottleService,
  ) {}

  register(username: string, password: string): Promise<UserRecord> {
    return this.usersService.register(username, password);
  }

  /** One failure message for an unknown user and a wrong password alike. */
  async login(username: string, password: string, client: ClientInfo): Promise<IssuedTokens> {
    await this.loginThrottle.assertAllowed(username, client.ip);
    const user = await this.usersService.verifyCredentials(username, password);
    if (!user) {
      await this.loginThrottle.recordFailure(username, client.ip);
      throw new UnauthorizedException(LOGIN_FAILED);
    }
    await this.loginThrottle.recordSuccess(username, client.ip);
    const session = await this.sessionsService.start(user._id.toHexString(), client);
    return this.issueTokens(user, session);
  }

  async refresh(refreshToken: unknown): Promise<IssuedTokens> {
    const session = await this.sessionsService.rotate(refreshToken);
    if (!session) throw new InvalidTokenException(true);
    const user = await this.usersService.findById(session.userId);
    if (!user) {
      await this.sessionsService.revoke(session.sessionId, 'logout');
      throw new InvalidTokenException(true);
    }
    return this.issueTokens(user, session);
  }

  async logout(caller: AuthenticatedUser): Promise<void> {
    await this.sessionsService.revoke(caller.sessionId, 'logout');
  }

  /** The guard's check after the signature: well-formed claims of a session that is still live. */
  async authenticateAccessToken(payload: unknown): Promise<AuthenticatedUser | null> {
    const claims = this.accessTokens.parseClaims(payload);
    if (!claims) return null;
    if (!(await this.sessionsService.isLive(claims.sid, claims.sub))) return null;
    return { userId: claims.sub, sessionId: claims.sid, roles: claims.roles };
  }

  private issueTokens(user: UserRecord, session: IssuedRefreshToken): IssuedTokens {
    const { accessToken, expiresIn } = this.accessTokens.issue(user._id.toHexString(), session.sessionId, user.roles);
    return {
      user,
      accessToken,
      expiresIn,
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.expiresAt,
    };
  }
}
