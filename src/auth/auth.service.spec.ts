import { HttpStatus, UnauthorizedException } from '@nestjs/common';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import { StateStoreUnavailableError } from '../common/exceptions/state-store-unavailable.error';
import { TooManyRequestsException } from '../common/exceptions/too-many-requests.exception';
import type { RotationResult } from '../sessions/sessions.service';
import { AuthService, LOGIN_FAILED } from './auth.service';
import {
  ACCESS,
  authServiceMocks,
  CLIENT,
  createAuthService,
  rejectionOf,
  SESSION,
  SESSION_ID,
  USER,
  USER_ID,
  type AuthServiceMocks,
} from './testing/auth-service.fixture';

/** Login, refresh, and the tokens both hand out. Session management: auth.service.sessions.spec.ts. */
describe(AuthService.name, () => {
  let usersService: AuthServiceMocks['usersService'];
  let sessionsService: AuthServiceMocks['sessionsService'];
  let accessTokens: AuthServiceMocks['accessTokens'];
  let loginThrottle: AuthServiceMocks['loginThrottle'];
  let sut: AuthService;

  beforeEach(() => {
    const mocks = authServiceMocks();
    ({ usersService, sessionsService, accessTokens, loginThrottle } = mocks);
    sut = createAuthService(mocks);
  });

  describe('login', () => {
    it('refuses bad credentials with 401 and the shared failure message, leaving the attempt counted', async () => {
      usersService.verifyCredentials.mockResolvedValue(null);

      const error = await rejectionOf(sut.login('alice', 'wrong-password', CLIENT));

      expect(error).toBeInstanceOf(UnauthorizedException);
      expect((error as UnauthorizedException).getStatus()).toBe(HttpStatus.UNAUTHORIZED);
      expect((error as UnauthorizedException).message).toBe(LOGIN_FAILED);
      expect(loginThrottle.beginAttempt).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(loginThrottle.recordSuccess).not.toHaveBeenCalled();
      expect(sessionsService.start).not.toHaveBeenCalled();
    });

    it('answers an unknown user and a wrong password with the same error body', async () => {
      usersService.verifyCredentials.mockResolvedValue(null);

      const unknownUser = (await rejectionOf(
        sut.login('nobody-here', 'whatever-pass', CLIENT),
      )) as UnauthorizedException;
      const wrongPassword = (await rejectionOf(sut.login('alice', 'wrong-password', CLIENT))) as UnauthorizedException;

      expect(unknownUser.getResponse()).toEqual(wrongPassword.getResponse());
      expect(unknownUser.getStatus()).toBe(wrongPassword.getStatus());
    });

    it('counts the attempt before verifying credentials, and stops there when the throttle refuses', async () => {
      loginThrottle.beginAttempt.mockRejectedValue(new TooManyRequestsException(60));

      await expect(sut.login('alice', 'correct-password', CLIENT)).rejects.toBeInstanceOf(TooManyRequestsException);
      expect(loginThrottle.beginAttempt).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(usersService.verifyCredentials).not.toHaveBeenCalled();
      expect(sessionsService.start).not.toHaveBeenCalled();
    });

    it('counts usernames that differ only in case or Unicode form under one throttle key', async () => {
      usersService.verifyCredentials.mockResolvedValue(null);

      await rejectionOf(sut.login('\uFF21LICE', 'wrong-password', CLIENT)); // full-width "A"

      expect(loginThrottle.beginAttempt).toHaveBeenCalledWith('alice', CLIENT.ip);
    });

    it('counts the attempt before the password is verified on an allowed attempt too', async () => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);

      await sut.login('alice', 'correct-password', CLIENT);

      expect(loginThrottle.beginAttempt.mock.invocationCallOrder[0]).toBeLessThan(
        usersService.verifyCredentials.mock.invocationCallOrder[0],
      );
    });

    it("records the success and starts a session for the user, the client and the user's credentials version", async () => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);

      await sut.login('alice', 'correct-password', CLIENT);

      expect(loginThrottle.recordSuccess).toHaveBeenCalledWith('alice', CLIENT.ip);
      expect(sessionsService.start).toHaveBeenCalledWith(USER_ID, CLIENT, USER.credentialsVersion);
    });

    it("returns an access token for the session's user and roles, and the session's refresh token", async () => {
      usersService.verifyCredentials.mockResolvedValue({ ...USER, roles: ['admin', 'user'] });
      sessionsService.start.mockResolvedValue(SESSION);

      const issued = await sut.login('alice', 'correct-password', CLIENT);

      expect(accessTokens.issue).toHaveBeenCalledWith(USER_ID, SESSION_ID, ['admin', 'user'], expect.any(Date));
      expect(issued).toMatchObject({
        accessToken: ACCESS.accessToken,
        expiresIn: ACCESS.expiresIn,
        refreshToken: SESSION.refreshToken,
        refreshTokenExpiresAt: SESSION.expiresAt,
      });
    });
  });

  describe('refresh', () => {
    it.each<[string, RotationResult]>([
      ['forged, stale or of an ended session', { outcome: 'invalid' }],
      ['reused (the session has been revoked)', { outcome: 'reuse', sessionId: SESSION_ID, userId: USER_ID }],
    ])('refuses a token that is %s with a 401 that says a token was presented', async (_label, result) => {
      sessionsService.rotate.mockResolvedValue(result);

      const error = await rejectionOf(sut.refresh('presented-token'));

      expect(error).toBeInstanceOf(InvalidTokenException);
      expect((error as InvalidTokenException).tokenPresented).toBe(true);
      expect((error as InvalidTokenException).getStatus()).toBe(HttpStatus.UNAUTHORIZED);
      expect(usersService.findById).not.toHaveBeenCalled();
      expect(accessTokens.issue).not.toHaveBeenCalled();
      expect(sessionsService.recordAccessTokenIssued).not.toHaveBeenCalled();
    });

    it('answers reuse exactly like an invalid token, so a thief learns nothing', async () => {
      sessionsService.rotate.mockResolvedValueOnce({ outcome: 'invalid' });
      sessionsService.rotate.mockResolvedValueOnce({ outcome: 'reuse', sessionId: SESSION_ID, userId: USER_ID });

      const invalid = (await rejectionOf(sut.refresh('forged'))) as InvalidTokenException;
      const reuse = (await rejectionOf(sut.refresh('reused'))) as InvalidTokenException;

      expect(reuse.getResponse()).toEqual(invalid.getResponse());
    });

    it('leaves the revocation of a reused session to the sessions service (no second revocation)', async () => {
      sessionsService.rotate.mockResolvedValue({ outcome: 'reuse', sessionId: SESSION_ID, userId: USER_ID });

      await rejectionOf(sut.refresh('reused'));

      expect(sessionsService.revoke).not.toHaveBeenCalled();
    });

    it('revokes the session and refuses with 401 when its user has been deleted', async () => {
      sessionsService.rotate.mockResolvedValue({ outcome: 'rotated', issued: SESSION });
      usersService.findById.mockResolvedValue(null);

      const error = await rejectionOf(sut.refresh('valid-token'));

      expect(error).toBeInstanceOf(InvalidTokenException);
      expect((error as InvalidTokenException).tokenPresented).toBe(true);
      expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, 'user_deleted');
      expect(accessTokens.issue).not.toHaveBeenCalled();
    });

    it.each(['rotated', 'grace'] as const)(
      "issues a new access token and returns the successor refresh token when the outcome is '%s'",
      async (outcome) => {
        sessionsService.rotate.mockResolvedValue({ outcome, issued: SESSION });
        usersService.findById.mockResolvedValue(USER);

        const issued = await sut.refresh('valid-token');

        expect(sessionsService.rotate).toHaveBeenCalledWith('valid-token');
        expect(usersService.findById).toHaveBeenCalledWith(USER_ID);
        expect(accessTokens.issue).toHaveBeenCalledWith(USER_ID, SESSION_ID, USER.roles, SESSION.expiresAt);
        expect(issued).toMatchObject({ accessToken: ACCESS.accessToken, refreshToken: SESSION.refreshToken });
      },
    );
  });

  describe('issued tokens', () => {
    beforeEach(() => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);
    });

    it('caps the access token at the end of its session', async () => {
      await sut.login('alice', 'correct-password', CLIENT);

      const [, , , notAfter] = accessTokens.issue.mock.calls[0];
      expect(notAfter).toEqual(SESSION.expiresAt);
    });

    it("records the session as usable until the access token's own expiry, before answering", async () => {
      const issued = await sut.login('alice', 'correct-password', CLIENT);

      expect(sessionsService.recordAccessTokenIssued).toHaveBeenCalledWith(SESSION_ID, USER_ID, ACCESS.expiresAt);
      expect(issued.accessToken).toBe(ACCESS.accessToken);
    });

    it('reports the lifetime the access-token service chose, and the session end for the refresh token', async () => {
      accessTokens.issue.mockResolvedValue({
        ...ACCESS,
        expiresIn: 42,
        expiresAt: new Date('2030-01-01T00:00:42.000Z'),
      });

      const issued = await sut.login('alice', 'correct-password', CLIENT);

      expect(issued.expiresIn).toBe(42);
      expect(issued.refreshTokenExpiresAt).toEqual(SESSION.expiresAt);
    });

    it('hands out no token that other instances would refuse: a failing record fails the login', async () => {
      sessionsService.recordAccessTokenIssued.mockRejectedValue(
        new StateStoreUnavailableError('Redis: Connection is closed.'),
      );

      await expect(sut.login('alice', 'correct-password', CLIENT)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });

    it('records the refreshed access token too', async () => {
      sessionsService.rotate.mockResolvedValue({ outcome: 'grace', issued: SESSION });
      usersService.findById.mockResolvedValue(USER);

      await sut.refresh('valid-token');

      expect(sessionsService.recordAccessTokenIssued).toHaveBeenCalledWith(SESSION_ID, USER_ID, ACCESS.expiresAt);
    });
  });
});
