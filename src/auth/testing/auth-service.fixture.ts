import { AuditLogger } from '../../logging/audit-logger.service';
import type { ClientInfo, IssuedRefreshToken, SessionsService } from '../../sessions/sessions.service';
import type { UserAccount } from '../../users/user-account';
import type { UsersService } from '../../users/users.service';
import type { AccessTokenClaims, AccessTokenService, IssuedAccessToken } from '../access-token.service';
import { AuthService } from '../auth.service';
import type { AuthenticatedUser } from '../../identity/authenticated-user';
import type { LoginThrottleService } from '../../login-throttle/login-throttle.service';

export const USER_ID = '6650f0c2a1b2c3d4e5f60718';
export const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
export const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';
export const CLIENT: ClientInfo = { userAgent: 'curl/8.5.0', ip: '198.51.100.4' };

export const USER: UserAccount = {
  id: USER_ID,
  username: 'Alice',
  roles: ['user'],
  credentialsVersion: 'credentials-v1',
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};

/** The session's refresh token, ending (idle or absolute) at expiresAt. */
export const SESSION: IssuedRefreshToken = {
  sessionId: SESSION_ID,
  userId: USER_ID,
  refreshToken: `${SESSION_ID}.1.refresh-mac`,
  credentialsVersion: USER.credentialsVersion,
  expiresAt: new Date('2030-01-08T00:00:00.000Z'),
};

/** What the access-token service answers in these specs: a token that ends before the session does. */
export const ACCESS: IssuedAccessToken = {
  accessToken: 'access.jwt.token',
  expiresIn: 900,
  expiresAt: new Date('2030-01-01T00:15:00.000Z'),
};

export const CLAIMS: AccessTokenClaims = {
  sub: USER_ID,
  sid: SESSION_ID,
  jti: 'b9f7c1de-4d55-4c39-9d4e-2f3b8a1c0e6f',
  iat: 1_900_000_000,
  exp: 1_900_000_900,
  roles: ['user'],
};

export const CALLER: AuthenticatedUser = { userId: USER_ID, sessionId: SESSION_ID, roles: ['user'] };

export interface AuthServiceMocks {
  usersService: jest.Mocked<
    Pick<UsersService, 'register' | 'verifyCredentials' | 'findById' | 'findIdByUsername' | 'credentialsUnchanged'>
  >;
  sessionsService: jest.Mocked<
    Pick<
      SessionsService,
      | 'start'
      | 'rotate'
      | 'revoke'
      | 'isActive'
      | 'recordAccessTokenIssued'
      | 'listLive'
      | 'revokeOwn'
      | 'revokeAllOfUser'
    >
  >;
  accessTokens: jest.Mocked<Pick<AccessTokenService, 'issue' | 'parseClaims'>>;
  loginThrottle: jest.Mocked<Pick<LoginThrottleService, 'beginAttempt' | 'recordSuccess'>>;
}

export function authServiceMocks(): AuthServiceMocks {
  return {
    usersService: {
      register: jest.fn(),
      verifyCredentials: jest.fn(),
      findById: jest.fn(),
      findIdByUsername: jest.fn().mockResolvedValue(null),
      credentialsUnchanged: jest.fn().mockResolvedValue(true),
    },
    sessionsService: {
      start: jest.fn(),
      rotate: jest.fn(),
      revoke: jest.fn().mockResolvedValue(undefined),
      isActive: jest.fn(),
      recordAccessTokenIssued: jest.fn().mockResolvedValue(undefined),
      listLive: jest.fn().mockResolvedValue([]),
      revokeOwn: jest.fn().mockResolvedValue(false),
      revokeAllOfUser: jest.fn().mockResolvedValue(undefined),
    },
    accessTokens: { issue: jest.fn().mockResolvedValue(ACCESS), parseClaims: jest.fn() },
    loginThrottle: { beginAttempt: jest.fn(), recordSuccess: jest.fn() },
  };
}

export function createAuthService(mocks: AuthServiceMocks): AuthService {
  return new AuthService(
    mocks.usersService as unknown as UsersService,
    mocks.sessionsService as unknown as SessionsService,
    mocks.accessTokens as unknown as AccessTokenService,
    mocks.loginThrottle as unknown as LoginThrottleService,
    new AuditLogger(),
  );
}

/** The error a promise rejects with; fails the spec when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
