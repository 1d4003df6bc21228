import { HttpStatus, UnauthorizedException } from '@nestjs/common';
import { Types } from 'mongoose';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import { TooManyRequestsException } from '../common/exceptions/too-many-requests.exception';
import type { ClientInfo, IssuedRefreshToken, SessionsService } from '../sessions/sessions.service';
import type { UserRecord } from '../users/users.repository';
import type { UsersService } from '../users/users.service';
import type { AccessTokenClaims, AccessTokenService } from './access-token.service';
import { AuthService, LOGIN_FAILED } from './auth.service';
import type { AuthenticatedUser } from './authenticated-user';
import type { LoginThrottleService } from './login-throttle.service';

const USER_ID = '6650f0c2a1b2c3d4e5f60718';
const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const CLIENT: ClientInfo = { userAgent: 'curl/8.5.0', ip: '198.51.100.4' };
const USER: UserRecord = {
  _id: new Types.ObjectId(USER_ID),
  username: 'Alice',
  usernameKey: 'alice',
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  roles: ['user'],
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
};
const SESSION: IssuedRefreshToken = {
  sessionId: SESSION_ID,
  userId: USER_ID,
  refreshToken: `${SESSION_ID}.1.refresh-mac`,
  expiresAt: new Date('2030-01-08T00:00:00.000Z'),
};
const CLAIMS: AccessTokenClaims = {
  sub: USER_ID,
  sid: SESSION_ID,
  jti: 'b9f7c1de-4d55-4c39-9d4e-2f3b8a1c0e6f',
  iat: 1_900_000_000,
  exp: 1_900_000_900,
  roles: ['user'],
};

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe(AuthService.name, () => {
  let usersService: jest.Mocked<Pick<UsersService, 'register' | 'verifyCredentials' | 'findById'>>;
  let sessionsService: jest.Mocked<Pick<SessionsService, 'start' | 'rotate' | 'revoke' | 'isLive'>>;
  let accessTokens: jest.Mocked<Pick<AccessTokenService, 'issue' | 'parseClaims'>>;
  let loginThrottle: jest.Mocked<Pick<LoginThrottleService, 'assertAllowed' | 'recordFailure' | 'recordSuccess'>>;
  let sut: AuthService;

  beforeEach(() => {
    usersService = { register: jest.fn(), verifyCredentials: jest.fn(), findById: jest.fn() };
    sessionsService = { start: jest.fn(), rotate: jest.fn(), revoke: jest.fn(), isLive: jest.fn() };
    accessTokens = { issue: jest.fn(), parseClaims: jest.fn() };
    loginThrottle = { assertAllowed: jest.fn(), recordFailure: jest.fn(), recordSuccess: jest.fn() };
    accessTokens.issue.mockReturnValue({ accessToken: 'access.jwt.token', expiresIn: 900 });
    sut = new AuthService(
      usersService as unknown as UsersService,
      sessionsService as unknown as SessionsService,
      accessTokens as unknown as AccessTokenService,
      loginThrottle as unknown as LoginThrottleService,
    );
  });

  describe('login', () => {
    it('refuses bad credentials with 401 and the shared failure message, and records the failure', async () => {
      usersService.verifyCredentials.mockResolvedValue(null);

      const error = await rejectionOf(sut.login('alice', 'wrong-password', CLIENT));

      expect(error).toBeInstanceOf(UnauthorizedException);
      expect((error as UnauthorizedException).getStatus()).toBe(HttpStatus.UNAUTHORIZED);
      expect((error as UnauthorizedException).message).toBe(LOGIN_FAILED);
      expect(loginThrottle.recordFailure).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(loginThrottle.recordSuccess).not.toHaveBeenCalled();
      expect(sessionsService.start).not.toHaveBeenCalled();
    });

    it('answers an unknown user and a wrong password with the same error body', async () => {
      usersService.verifyCredentials.mockResolvedValue(null);

      const unknownUser = (await rejectionOf(sut.login('nobody-here', 'whatever-pass', CLIENT))) as UnauthorizedException;
      const wrongPassword = (await rejectionOf(sut.login('alice', 'wrong-password', CLIENT))) as UnauthorizedException;

      expect(unknownUser.getResponse()).toEqual(wrongPassword.getResponse());
      expect(unknownUser.getStatus()).toBe(wrongPassword.getStatus());
    });

    it('checks the throttle before verifying credentials, and stops there when it refuses', async () => {
      loginThrottle.assertAllowed.mockRejectedValue(new TooManyRequestsException(60));

      await expect(sut.login('alice', 'correct-password', CLIENT)).rejects.toBeInstanceOf(TooManyRequestsException);
      expect(loginThrottle.assertAllowed).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(usersService.verifyCredentials).not.toHaveBeenCalled();
      expect(sessionsService.start).not.toHaveBeenCalled();
    });

    it('asks the throttle before the password is verified on an allowed attempt too', async () => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);

      await sut.login('alice', 'correct-password', CLIENT);

      expect(loginThrottle.assertAllowed.mock.invocationCallOrder[0]).toBeLessThan(
        usersService.verifyCredentials.mock.invocationCallOrder[0],
      );
    });

    it('records the success and starts a session for the user with the client info', async () => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);

      await sut.login('alice', 'correct-password', CLIENT);

      expect(loginThrottle.recordSuccess).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(loginThrottle.recordFailure).not.toHaveBeenCalled();
      expect(sessionsService.start).toHaveBeenCalledWith(USER_ID, CLIENT);
    });

    it("returns an access token for the session's user and roles, and the session's refresh token", async () => {
      usersService.verifyCredentials.mockResolvedValue({ ...USER, roles: ['admin', 'user'] });
      sessionsService.start.mockResolvedValue(SESSION);

      const issued = await sut.login('alice', 'correct-password', CLIENT);

      expect(accessTokens.issue).toHaveBeenCalledWith(USER_ID, SESSION_ID, ['admin', 'user']);
      expect(issued).toMatchObject({
        accessToken: 'access.jwt.token',
        expiresIn: 900,
        refreshToken: SESSION.refreshToken,
        refreshTokenExpiresAt: SESSION.expiresAt,
      });
    });
  });

  describe('refresh', () => {
    it('refuses a token the sessions service rejects with a 401 that says a token was presented', async () => {
      sessionsService.rotate.mockResolvedValue(null);

      const error = await rejectionOf(sut.refresh('stale-or-forged'));

      expect(error).toBeInstanceOf(InvalidTokenException);
      expect((error as InvalidTokenException).tokenPresented).toBe(true);
      expect((error as InvalidTokenException).getStatus()).toBe(HttpStatus.UNAUTHORIZED);
      expect(usersService.findById).not.toHaveBeenCalled();
      expect(accessTokens.issue).not.toHaveBeenCalled();
    });

    it('revokes the session and refuses with 401 when its user has been deleted', async () => {
      sessionsService.rotate.mockResolvedValue(SESSION);
      usersService.findById.mockResolvedValue(null);

      const error = await rejectionOf(sut.refresh('valid-token'));

      expect(error).toBeInstanceOf(InvalidTokenException);
      expect((error as InvalidTokenException).tokenPresented).toBe(true);
      expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, expect.any(String));
      expect(accessTokens.issue).not.toHaveBeenCalled();
    });

    it("issues a new access token for the rotated session and returns the successor refresh token", async () => {
      sessionsService.rotate.mockResolvedValue(SESSION);
      usersService.findById.mockResolvedValue(USER);

      const issued = await sut.refresh('valid-token');

      expect(sessionsService.rotate).toHaveBeenCalledWith('valid-token');
      expect(usersService.findById).toHaveBeenCalledWith(USER_ID);
      expect(accessTokens.issue).toHaveBeenCalledWith(USER_ID, SESSION_ID, USER.roles);
      expect(issued).toMatchObject({ accessToken: 'access.jwt.token', refreshToken: SESSION.refreshToken });
    });
  });

  describe('logout', () => {
    it("revokes exactly the caller's session and nothing else", async () => {
      const caller: AuthenticatedUser = { userId: USER_ID, sessionId: SESSION_ID, roles: ['user'] };

      await sut.logout(caller);

      expect(sessionsService.revoke).toHaveBeenCalledTimes(1);
      expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, 'logout');
    });
  });

  describe('authenticateAccessToken', () => {
    it('returns null for malformed claims without touching sessions', async () => {
      accessTokens.parseClaims.mockReturnValue(null);

      await expect(sut.authenticateAccessToken({ sub: 'x' })).resolves.toBeNull();
      expect(sessionsService.isLive).not.toHaveBeenCalled();
    });

    it("returns null when the token's session is no longer live", async () => {
      accessTokens.parseClaims.mockReturnValue(CLAIMS);
      sessionsService.isLive.mockResolvedValue(false);

      await expect(sut.authenticateAccessToken(CLAIMS)).resolves.toBeNull();
      expect(sessionsService.isLive).toHaveBeenCalledWith(SESSION_ID, USER_ID);
    });

    it('returns the principal of a live session', async () => {
      accessTokens.parseClaims.mockReturnValue({ ...CLAIMS, roles: ['admin', 'user'] });
      sessionsService.isLive.mockResolvedValue(true);

      await expect(sut.authenticateAccessToken(CLAIMS)).resolves.toEqual({
        userId: USER_ID,
        sessionId: SESSION_ID,
        roles: ['admin', 'user'],
      });
    });

    it('propagates a failing session store instead of authenticating', async () => {
      accessTokens.parseClaims.mockReturnValue(CLAIMS);
      sessionsService.isLive.mockRejectedValue(Object.assign(new Error('down'), { name: 'MongoNetworkError' }));

      await expect(sut.authenticateAccessToken(CLAIMS)).rejects.toThrow('down');
    });
  });
});
