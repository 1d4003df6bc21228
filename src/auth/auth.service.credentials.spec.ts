import { UnauthorizedException } from '@nestjs/common';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import { AuthService, LOGIN_FAILED } from './auth.service';
import {
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

/**
 * A password change or deletion racing with a login or a refresh: the session carries the credentials
 * version its password was checked against, and no token is handed out for an outdated one.
 */
describe(AuthService.name, () => {
  let usersService: AuthServiceMocks['usersService'];
  let sessionsService: AuthServiceMocks['sessionsService'];
  let accessTokens: AuthServiceMocks['accessTokens'];
  let sut: AuthService;

  beforeEach(() => {
    const mocks = authServiceMocks();
    ({ usersService, sessionsService, accessTokens } = mocks);
    sut = createAuthService(mocks);
  });

  describe('login', () => {
    beforeEach(() => {
      usersService.verifyCredentials.mockResolvedValue(USER);
      sessionsService.start.mockResolvedValue(SESSION);
    });

    it('asks whether the credentials changed only after the session exists, with the version it was checked against', async () => {
      await sut.login('alice', 'correct-password', CLIENT);

      expect(usersService.credentialsUnchanged).toHaveBeenCalledWith(USER_ID, USER.credentialsVersion);
      expect(sessionsService.start.mock.invocationCallOrder[0]).toBeLessThan(
        usersService.credentialsUnchanged.mock.invocationCallOrder[0],
      );
    });

    it('passes a user without a version on as null, on both sides of the comparison', async () => {
      usersService.verifyCredentials.mockResolvedValue({ ...USER, credentialsVersion: null });

      await sut.login('alice', 'correct-password', CLIENT);

      expect(sessionsService.start).toHaveBeenCalledWith(USER_ID, CLIENT, null);
      expect(usersService.credentialsUnchanged).toHaveBeenCalledWith(USER_ID, null);
    });

    it('refuses with the shared 401 and revokes the new session when the password changed meanwhile', async () => {
      usersService.credentialsUnchanged.mockResolvedValue(false);

      const error = await rejectionOf(sut.login('alice', 'correct-password', CLIENT));

      expect(error).toBeInstanceOf(UnauthorizedException);
      expect((error as UnauthorizedException).message).toBe(LOGIN_FAILED);
      expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, 'credentials_changed');
    });

    it('issues nothing for that session: no access token, no record of one', async () => {
      usersService.credentialsUnchanged.mockResolvedValue(false);

      await rejectionOf(sut.login('alice', 'correct-password', CLIENT));

      expect(accessTokens.issue).not.toHaveBeenCalled();
      expect(sessionsService.recordAccessTokenIssued).not.toHaveBeenCalled();
    });

    it('fails, rather than answering 401 with the session left live, when the revocation fails', async () => {
      usersService.credentialsUnchanged.mockResolvedValue(false);
      sessionsService.revoke.mockRejectedValue(new Error('not primary'));

      await expect(sut.login('alice', 'correct-password', CLIENT)).rejects.toThrow('not primary');
      expect(accessTokens.issue).not.toHaveBeenCalled();
    });

    it('revokes nothing when the credentials are unchanged', async () => {
      await sut.login('alice', 'correct-password', CLIENT);

      expect(sessionsService.revoke).not.toHaveBeenCalled();
      expect(accessTokens.issue).toHaveBeenCalledTimes(1);
    });
  });

  describe('refresh', () => {
    beforeEach(() => {
      sessionsService.rotate.mockResolvedValue({ outcome: 'rotated', issued: SESSION });
    });

    it.each<[string, string | null, string | null]>([
      ['changed since the session was created', 'credentials-v1', 'credentials-v2'],
      ['set since a session created without one', null, 'credentials-v2'],
      ['gone from a user whose session had one', 'credentials-v1', null],
    ])(
      "revokes the session ('password_changed') and refuses with 401 when the version was %s",
      async (_label, sessionVersion, userVersion) => {
        sessionsService.rotate.mockResolvedValue({
          outcome: 'rotated',
          issued: { ...SESSION, credentialsVersion: sessionVersion },
        });
        usersService.findById.mockResolvedValue({ ...USER, credentialsVersion: userVersion });

        const error = await rejectionOf(sut.refresh('valid-token'));

        expect(error).toBeInstanceOf(InvalidTokenException);
        expect((error as InvalidTokenException).tokenPresented).toBe(true);
        expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, 'password_changed');
        expect(accessTokens.issue).not.toHaveBeenCalled();
        expect(sessionsService.recordAccessTokenIssued).not.toHaveBeenCalled();
      },
    );

    it('answers a version mismatch exactly like an invalid token, so the holder learns nothing', async () => {
      usersService.findById.mockResolvedValue({ ...USER, credentialsVersion: 'credentials-v2' });
      const mismatch = (await rejectionOf(sut.refresh('valid-token'))) as InvalidTokenException;
      sessionsService.rotate.mockResolvedValue({ outcome: 'invalid' });
      const invalid = (await rejectionOf(sut.refresh('forged'))) as InvalidTokenException;

      expect(mismatch.getResponse()).toEqual(invalid.getResponse());
    });

    it('refreshes a session created without a version for a user who still has none', async () => {
      sessionsService.rotate.mockResolvedValue({ outcome: 'grace', issued: { ...SESSION, credentialsVersion: null } });
      usersService.findById.mockResolvedValue({ ...USER, credentialsVersion: null });

      await expect(sut.refresh('valid-token')).resolves.toMatchObject({ refreshToken: SESSION.refreshToken });
      expect(sessionsService.revoke).not.toHaveBeenCalled();
    });

    it('refreshes when the versions match', async () => {
      usersService.findById.mockResolvedValue(USER);

      await sut.refresh('valid-token');

      expect(sessionsService.revoke).not.toHaveBeenCalled();
      expect(accessTokens.issue).toHaveBeenCalledWith(USER_ID, SESSION_ID, USER.roles, SESSION.expiresAt);
    });
  });
});
