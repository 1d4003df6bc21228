import { HttpStatus, NotFoundException } from '@nestjs/common';
import { StateStoreUnavailableError } from '../common/exceptions/state-store-unavailable.error';
import type { LiveSession } from '../sessions/live-session';
import { AuthService } from './auth.service';
import {
  authServiceMocks,
  CALLER,
  CLAIMS,
  createAuthService,
  OTHER_SESSION_ID,
  rejectionOf,
  SESSION_ID,
  USER_ID,
  type AuthServiceMocks,
} from './testing/auth-service.fixture';

function session(id: string): LiveSession {
  const createdAt = new Date('2030-01-01T00:00:00.000Z');
  return { id, createdAt, lastUsedAt: createdAt, userAgent: null, ip: null };
}

/** Logout, session management, and the per-request check of access tokens. */
describe(AuthService.name, () => {
  let sessionsService: AuthServiceMocks['sessionsService'];
  let accessTokens: AuthServiceMocks['accessTokens'];
  let sut: AuthService;

  beforeEach(() => {
    const mocks = authServiceMocks();
    ({ sessionsService, accessTokens } = mocks);
    sut = createAuthService(mocks);
  });

  describe('logout', () => {
    it("revokes exactly the caller's session and nothing else", async () => {
      await sut.logout(CALLER);

      expect(sessionsService.revoke).toHaveBeenCalledTimes(1);
      expect(sessionsService.revoke).toHaveBeenCalledWith(SESSION_ID, 'logout');
      expect(sessionsService.revokeAllOfUser).not.toHaveBeenCalled();
    });

    it('fails when the revocation cannot be completed, instead of reporting a logout', async () => {
      sessionsService.revoke.mockRejectedValue(new StateStoreUnavailableError('Redis: Connection is closed.'));

      await expect(sut.logout(CALLER)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });

  describe('logoutAll', () => {
    it("revokes every session of the caller, the caller's own included", async () => {
      await sut.logoutAll(CALLER);

      expect(sessionsService.revokeAllOfUser).toHaveBeenCalledTimes(1);
      const [userId, reason, exceptSessionId] = sessionsService.revokeAllOfUser.mock.calls[0];
      expect(userId).toBe(USER_ID);
      expect(reason).toBe('logout_all');
      expect(exceptSessionId).toBeUndefined();
    });
  });

  describe('listSessions', () => {
    it("lists the caller's live sessions, in the sessions service's order", async () => {
      sessionsService.listLive.mockResolvedValue([session(OTHER_SESSION_ID), session(SESSION_ID)]);

      const views = await sut.listSessions(CALLER);

      expect(sessionsService.listLive).toHaveBeenCalledWith(USER_ID);
      expect(views.map((view) => view.session.id)).toEqual([OTHER_SESSION_ID, SESSION_ID]);
    });

    it("flags exactly the caller's own session as current", async () => {
      sessionsService.listLive.mockResolvedValue([session(OTHER_SESSION_ID), session(SESSION_ID)]);

      const views = await sut.listSessions(CALLER);

      expect(views.map((view) => view.current)).toEqual([false, true]);
    });

    it('flags none as current when the caller session is not among them', async () => {
      sessionsService.listLive.mockResolvedValue([session(OTHER_SESSION_ID)]);

      await expect(sut.listSessions(CALLER)).resolves.toEqual([{ session: session(OTHER_SESSION_ID), current: false }]);
    });
  });

  describe('revokeSession', () => {
    it("revokes one of the caller's own sessions with reason 'session_deleted'", async () => {
      sessionsService.revokeOwn.mockResolvedValue(true);

      await expect(sut.revokeSession(CALLER, OTHER_SESSION_ID)).resolves.toBeUndefined();
      expect(sessionsService.revokeOwn).toHaveBeenCalledWith(USER_ID, OTHER_SESSION_ID, 'session_deleted');
    });

    it("answers 404 for a session that is not the caller's or not live, disclosing nothing else", async () => {
      sessionsService.revokeOwn.mockResolvedValue(false);

      const error = await rejectionOf(sut.revokeSession(CALLER, OTHER_SESSION_ID));

      expect(error).toBeInstanceOf(NotFoundException);
      expect((error as NotFoundException).getStatus()).toBe(HttpStatus.NOT_FOUND);
    });

    it('never revokes through the unconditional path, which ignores the owner', async () => {
      await rejectionOf(sut.revokeSession(CALLER, OTHER_SESSION_ID));

      expect(sessionsService.revoke).not.toHaveBeenCalled();
      expect(sessionsService.revokeAllOfUser).not.toHaveBeenCalled();
    });
  });

  describe('authenticateAccessToken', () => {
    it('returns null for malformed claims without touching sessions', async () => {
      accessTokens.parseClaims.mockReturnValue(null);

      await expect(sut.authenticateAccessToken({ sub: 'x' })).resolves.toBeNull();
      expect(sessionsService.isActive).not.toHaveBeenCalled();
    });

    it("returns null when the token's session is no longer active", async () => {
      accessTokens.parseClaims.mockReturnValue(CLAIMS);
      sessionsService.isActive.mockResolvedValue(false);

      await expect(sut.authenticateAccessToken(CLAIMS)).resolves.toBeNull();
      expect(sessionsService.isActive).toHaveBeenCalledWith(SESSION_ID, USER_ID);
    });

    it('returns the principal of an active session', async () => {
      accessTokens.parseClaims.mockReturnValue({ ...CLAIMS, roles: ['admin', 'user'] });
      sessionsService.isActive.mockResolvedValue(true);

      await expect(sut.authenticateAccessToken(CLAIMS)).resolves.toEqual({
        userId: USER_ID,
        sessionId: SESSION_ID,
        roles: ['admin', 'user'],
      });
    });

    it('propagates a failing state store instead of authenticating', async () => {
      accessTokens.parseClaims.mockReturnValue(CLAIMS);
      sessionsService.isActive.mockRejectedValue(new StateStoreUnavailableError('Redis: Command timed out'));

      await expect(sut.authenticateAccessToken(CLAIMS)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });
});
