import { Types } from 'mongoose';
import { SessionsService } from './sessions.service';
import {
  at,
  CLIENT,
  HOUR,
  NOW,
  OTHER_USER_ID,
  SESSION_ID,
  sessionRecord,
  sessionsServiceHarness,
  USER_ID,
  type SessionLedgerMock,
  type SessionStateMock,
} from './testing/sessions.fixture';

const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';
const THIRD_SESSION_ID = '6650f0c2a1b2c3d4e5f6071b';

/** The per-request check, listing, and every kind of revocation: database first, then the shared state. */
describe(SessionsService.name, () => {
  let ledger: SessionLedgerMock;
  let state: SessionStateMock;
  let sut: SessionsService;

  /** True when the database write happened before the state store was told. */
  function databaseBeforeState(write: { mock: { invocationCallOrder: number[] } }): boolean {
    return write.mock.invocationCallOrder[0] < state.recordRevoked.mock.invocationCallOrder[0];
  }

  beforeEach(() => {
    ({ ledger, state, sut } = sessionsServiceHarness());
  });

  describe('isActive', () => {
    it.each([true, false])('answers what the state store answers (%s) for the session and user', async (active) => {
      state.isActive.mockResolvedValue(active);

      await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).resolves.toBe(active);
      expect(state.isActive).toHaveBeenCalledWith(SESSION_ID, USER_ID, NOW);
    });

    it('does not read the sessions collection itself', async () => {
      state.isActive.mockResolvedValue(true);

      await sut.isActive(SESSION_ID, USER_ID, NOW);

      expect(ledger.isLive).not.toHaveBeenCalled();
      expect(ledger.findById).not.toHaveBeenCalled();
    });

    it('propagates a failing state store instead of answering', async () => {
      state.isActive.mockRejectedValue(new Error('store unreachable'));

      await expect(sut.isActive(SESSION_ID, USER_ID, NOW)).rejects.toThrow('store unreachable');
    });
  });

  describe('recordAccessTokenIssued', () => {
    it("tells the state store the session is usable until the access token's expiry", async () => {
      const expiresAt = at(15 * 60_000);

      await sut.recordAccessTokenIssued(SESSION_ID, USER_ID, expiresAt);

      expect(state.recordIssued).toHaveBeenCalledWith(SESSION_ID, USER_ID, expiresAt);
    });
  });

  describe('listLive', () => {
    it("returns the user's live sessions as the ledger lists them at that moment, in its order", async () => {
      const later = at(HOUR);
      ledger.listLiveOfUser.mockResolvedValue([
        sessionRecord({ _id: new Types.ObjectId(OTHER_SESSION_ID), createdAt: later, lastUsedAt: later }),
        sessionRecord(),
      ]);

      await expect(sut.listLive(USER_ID, NOW)).resolves.toEqual([
        { id: OTHER_SESSION_ID, createdAt: later, lastUsedAt: later, userAgent: CLIENT.userAgent, ip: CLIENT.ip },
        { id: SESSION_ID, createdAt: NOW, lastUsedAt: NOW, userAgent: CLIENT.userAgent, ip: CLIENT.ip },
      ]);
      expect(ledger.listLiveOfUser).toHaveBeenCalledWith(USER_ID, NOW);
    });

    it('hands out nothing of the refresh token, its generation or the expiries', async () => {
      ledger.listLiveOfUser.mockResolvedValue([sessionRecord({ userAgent: null, ip: null })]);

      const [session] = await sut.listLive(USER_ID, NOW);

      expect(Object.keys(session).sort()).toEqual(['createdAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      expect(session).toMatchObject({ userAgent: null, ip: null });
    });
  });

  describe('revoke', () => {
    it('records the revocation with its reason in the database, then publishes it', async () => {
      await sut.revoke(SESSION_ID, 'logout', NOW);

      expect(ledger.revoke).toHaveBeenCalledWith(SESSION_ID, 'logout', NOW);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
      expect(databaseBeforeState(ledger.revoke)).toBe(true);
    });

    it('publishes again a session that was already revoked (an earlier publication may have failed)', async () => {
      ledger.revoke.mockResolvedValue(false);

      await sut.revoke(SESSION_ID, 'logout', NOW);

      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
    });

    it('does not publish, and fails, when the database write fails', async () => {
      ledger.revoke.mockRejectedValue(new Error('not primary'));

      await expect(sut.revoke(SESSION_ID, 'logout', NOW)).rejects.toThrow('not primary');
      expect(state.recordRevoked).not.toHaveBeenCalled();
    });

    it('fails when the revocation cannot be published, so that logout does not answer success', async () => {
      state.recordRevoked.mockRejectedValue(new Error('Redis down'));

      await expect(sut.revoke(SESSION_ID, 'logout', NOW)).rejects.toThrow('Redis down');
    });
  });

  describe('revokeOwn', () => {
    it('revokes a live session of the user and publishes it, answering true', async () => {
      ledger.revokeLiveOfUser.mockResolvedValue(true);

      await expect(sut.revokeOwn(USER_ID, SESSION_ID, 'session_deleted', NOW)).resolves.toBe(true);
      expect(ledger.revokeLiveOfUser).toHaveBeenCalledWith(SESSION_ID, USER_ID, 'session_deleted', NOW);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
      expect(databaseBeforeState(ledger.revokeLiveOfUser)).toBe(true);
    });

    it("answers false and publishes nothing for a session that is not the user's", async () => {
      ledger.revokeLiveOfUser.mockResolvedValue(false);
      ledger.isRevokedOfUser.mockResolvedValue(false);

      await expect(sut.revokeOwn(OTHER_USER_ID, SESSION_ID, 'session_deleted', NOW)).resolves.toBe(false);
      expect(ledger.isRevokedOfUser).toHaveBeenCalledWith(SESSION_ID, OTHER_USER_ID);
      expect(state.recordRevoked).not.toHaveBeenCalled();
    });

    // The first attempt may have reached the database and then failed to publish (503): a retry must
    // still get the session refused everywhere, though it answers 404 as for any ended session.
    it('publishes again an own session that is already revoked, and still answers false', async () => {
      ledger.revokeLiveOfUser.mockResolvedValue(false);
      ledger.isRevokedOfUser.mockResolvedValue(true);

      await expect(sut.revokeOwn(USER_ID, SESSION_ID, 'session_deleted', NOW)).resolves.toBe(false);
      expect(ledger.isRevokedOfUser).toHaveBeenCalledWith(SESSION_ID, USER_ID);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
    });

    it('fails when that re-publication fails, rather than answering', async () => {
      ledger.revokeLiveOfUser.mockResolvedValue(false);
      ledger.isRevokedOfUser.mockResolvedValue(true);
      state.recordRevoked.mockRejectedValue(new Error('Redis down'));

      await expect(sut.revokeOwn(USER_ID, SESSION_ID, 'session_deleted', NOW)).rejects.toThrow('Redis down');
    });

    it('never goes through the unconditional revoke, which ignores the owner', async () => {
      await sut.revokeOwn(OTHER_USER_ID, SESSION_ID, 'session_deleted', NOW);

      expect(ledger.revoke).not.toHaveBeenCalled();
    });
  });

  describe('revokeAllOfUser', () => {
    it('publishes every id the database returns, those revoked before included', async () => {
      ledger.revokeAllOfUser.mockResolvedValue([SESSION_ID, OTHER_SESSION_ID]);

      await sut.revokeAllOfUser(USER_ID, 'logout_all', undefined, NOW);

      expect(ledger.revokeAllOfUser).toHaveBeenCalledWith(USER_ID, 'logout_all', NOW, undefined);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID, OTHER_SESSION_ID]);
      expect(databaseBeforeState(ledger.revokeAllOfUser)).toBe(true);
    });

    it('passes the session to keep to the database, and does not publish it', async () => {
      ledger.revokeAllOfUser.mockResolvedValue([OTHER_SESSION_ID, THIRD_SESSION_ID]);

      await sut.revokeAllOfUser(USER_ID, 'password_changed', SESSION_ID, NOW);

      expect(ledger.revokeAllOfUser).toHaveBeenCalledWith(USER_ID, 'password_changed', NOW, SESSION_ID);
      expect(state.recordRevoked.mock.calls.flat(2)).not.toContain(SESSION_ID);
    });
  });

  describe('updateCredentialsVersion', () => {
    it('stores the new version on that one session and publishes nothing', async () => {
      await sut.updateCredentialsVersion(SESSION_ID, 'credentials-v2');

      expect(ledger.updateCredentialsVersion).toHaveBeenCalledWith(SESSION_ID, 'credentials-v2');
      expect(state.recordRevoked).not.toHaveBeenCalled();
    });
  });

  describe('deleteAllOfUser', () => {
    it("revokes and publishes every session with reason 'user_deleted' before deleting them", async () => {
      ledger.revokeAllOfUser.mockResolvedValue([SESSION_ID, OTHER_SESSION_ID]);

      await sut.deleteAllOfUser(USER_ID, NOW);

      expect(ledger.revokeAllOfUser).toHaveBeenCalledWith(USER_ID, 'user_deleted', NOW, undefined);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID, OTHER_SESSION_ID]);
      expect(ledger.deleteAllOfUser).toHaveBeenCalledWith(USER_ID);
      expect(state.recordRevoked.mock.invocationCallOrder[0]).toBeLessThan(
        ledger.deleteAllOfUser.mock.invocationCallOrder[0],
      );
    });

    it('deletes nothing when the revocation cannot be published', async () => {
      state.recordRevoked.mockRejectedValue(new Error('Redis down'));

      await expect(sut.deleteAllOfUser(USER_ID, NOW)).rejects.toThrow('Redis down');
      expect(ledger.deleteAllOfUser).not.toHaveBeenCalled();
    });
  });
});
