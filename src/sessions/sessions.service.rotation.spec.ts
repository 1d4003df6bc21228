import { Logger } from '@nestjs/common';
import type { RefreshTokenCodec } from './refresh-token.codec';
import type { SessionRecord } from './sessions.repository';
import { SessionsService } from './sessions.service';
import {
  at,
  GRACE_MS,
  HOUR,
  NOW,
  SESSION_ID,
  sessionRecord,
  sessionsServiceHarness,
  USER_ID,
  type SessionLedgerMock,
  type SessionsServiceHarness,
  type SessionStateMock,
} from './testing/sessions.fixture';

/** The generation of the token the client presents in these specs. */
const PRESENTED = 3;

/**
 * rotate() when the ledger answers 'stale' (the presented token is not the session's current
 * one): the session as it is now decides between 'grace' (same successor again), 'reuse' (the
 * session is revoked) and 'invalid'. See sessions.service.rotation-claimed.spec.ts for 'claimed'.
 */
describe(SessionsService.name, () => {
  let ledger: SessionLedgerMock;
  let state: SessionStateMock;
  let codec: RefreshTokenCodec;
  let warnings: jest.SpyInstance;
  let sut: SessionsService;
  let createSut: SessionsServiceHarness['createSut'];

  /** The session after the presented token was rotated `ago` ms before NOW (and maybe more since). */
  function currentSession(overrides: Partial<SessionRecord> & { ago?: number } = {}): SessionRecord {
    const { ago = 0, ...rest } = overrides;
    return sessionRecord({ generation: PRESENTED + 1, rotatedAt: at(-ago), lastUsedAt: at(-ago), ...rest });
  }

  function rotatePresented(now = NOW) {
    return sut.rotate(codec.encode(SESSION_ID, PRESENTED), now);
  }

  beforeEach(() => {
    ({ ledger, state, codec, sut, createSut } = sessionsServiceHarness({ refreshReuseGraceMs: GRACE_MS }));
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    ledger.rotateRefreshToken.mockResolvedValue({ status: 'stale' });
  });

  afterEach(() => jest.restoreAllMocks());

  describe('grace', () => {
    it('gives the token rotated last, presented again within the grace period, the same successor', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS / 2 }));

      const result = await rotatePresented();

      expect(result).toEqual({
        outcome: 'grace',
        issued: expect.objectContaining({
          sessionId: SESSION_ID,
          userId: USER_ID,
          refreshToken: codec.encode(SESSION_ID, PRESENTED + 1),
        }),
      });
      expect(ledger.findById).toHaveBeenCalledWith(SESSION_ID);
    });

    it('neither revokes nor changes the session', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS / 2 }));

      await rotatePresented();

      expect(ledger.revoke).not.toHaveBeenCalled();
      expect(state.recordRevoked).not.toHaveBeenCalled();
      expect(ledger.rotateRefreshToken).toHaveBeenCalledTimes(1);
    });

    it("reports the session's current end as the successor's expiry", async () => {
      const idle = at(HOUR);
      ledger.findById.mockResolvedValue(currentSession({ ago: 1_000, idleExpiresAt: idle }));

      const result = await rotatePresented();

      expect(result.outcome === 'grace' && result.issued.expiresAt).toEqual(idle);
    });

    it('still applies exactly at the end of the grace period', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS }));

      await expect(rotatePresented()).resolves.toMatchObject({ outcome: 'grace' });
    });

    it('applies to a request that read its clock before the concurrent rotation was written', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: -5 }));

      await expect(rotatePresented()).resolves.toMatchObject({ outcome: 'grace' });
    });
  });

  describe('reuse', () => {
    it('is the token rotated last, presented one millisecond after the grace period', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS + 1 }));

      await expect(rotatePresented()).resolves.toEqual({ outcome: 'reuse', sessionId: SESSION_ID, userId: USER_ID });
    });

    it('is a token older than the one rotated last, even within the grace period', async () => {
      ledger.findById.mockResolvedValue(currentSession({ generation: PRESENTED + 2, ago: 0 }));

      await expect(rotatePresented()).resolves.toMatchObject({ outcome: 'reuse' });
    });

    it.each([
      ['rotated the same millisecond', 0],
      ['rotated a millisecond earlier', 1],
      ['rotated just after this request read its clock', -1],
    ])('is any superseded token when the grace period is 0 (%s)', async (_label, ago) => {
      sut = createSut({ refreshReuseGraceMs: 0 });
      ledger.findById.mockResolvedValue(currentSession({ ago }));

      await expect(rotatePresented()).resolves.toMatchObject({ outcome: 'reuse' });
    });

    it("revokes the session with reason 'refresh_reuse' in the database, then publishes it", async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS + 1 }));

      await rotatePresented();

      expect(ledger.revoke).toHaveBeenCalledWith(SESSION_ID, 'refresh_reuse', NOW);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
      expect(ledger.revoke.mock.invocationCallOrder[0]).toBeLessThan(state.recordRevoked.mock.invocationCallOrder[0]);
    });

    it('logs one audit line naming the session, the user and both generations, but not the token', async () => {
      ledger.findById.mockResolvedValue(currentSession({ generation: PRESENTED + 2 }));
      const presented = codec.encode(SESSION_ID, PRESENTED);

      await sut.rotate(presented, NOW);

      expect(warnings).toHaveBeenCalledTimes(1);
      const line: unknown = warnings.mock.calls[0][0];
      expect(line).toMatchObject({
        audit: 'refresh_reuse_detected',
        sessionId: SESSION_ID,
        userId: USER_ID,
        presentedGeneration: PRESENTED,
        currentGeneration: PRESENTED + 2,
      });
      expect(JSON.stringify(line)).not.toContain(presented.split('.')[2]);
    });

    it('fails rather than answering when the revocation cannot be published', async () => {
      ledger.findById.mockResolvedValue(currentSession({ ago: GRACE_MS + 1 }));
      state.recordRevoked.mockRejectedValue(new Error('Redis down'));

      await expect(rotatePresented()).rejects.toThrow('Redis down');
    });
  });

  describe('invalid', () => {
    it.each<[string, SessionRecord | null]>([
      ['the session no longer exists', null],
      ['the session was revoked', currentSession({ ago: GRACE_MS + 1, revokedAt: at(-1_000) })],
      ['the session is idle-expired', currentSession({ ago: GRACE_MS + 1, idleExpiresAt: NOW })],
      ['the session reached its maximum lifetime', currentSession({ ago: GRACE_MS + 1, absoluteExpiresAt: at(-1) })],
      ['the session ended, even within the grace period', currentSession({ ago: 1, revokedAt: at(-1) })],
    ])('is a superseded token when %s, and nothing is revoked again', async (_label, session) => {
      ledger.findById.mockResolvedValue(session);

      await expect(rotatePresented()).resolves.toEqual({ outcome: 'invalid' });
      expect(ledger.revoke).not.toHaveBeenCalled();
      expect(state.recordRevoked).not.toHaveBeenCalled();
      expect(warnings).not.toHaveBeenCalled();
    });

    it.each([
      ['of the current generation', PRESENTED],
      ['of a generation the session never reached', PRESENTED - 1],
    ])('is a genuine token %s that the ledger found stale, without revoking', async (_label, generation) => {
      ledger.findById.mockResolvedValue(currentSession({ generation, ago: GRACE_MS + 1 }));

      await expect(rotatePresented()).resolves.toEqual({ outcome: 'invalid' });
      expect(ledger.revoke).not.toHaveBeenCalled();
      expect(state.recordRevoked).not.toHaveBeenCalled();
    });
  });
});
