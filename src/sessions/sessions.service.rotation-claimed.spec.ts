import { Logger } from '@nestjs/common';
import type { RefreshTokenCodec } from './refresh-token.codec';
import type { RotationAttempt } from './session-ledger';
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
 * rotate() when the ledger answers 'claimed': a concurrent request with the same token won the
 * claim on its generation. The grace period runs from that claim: within it the same successor
 * again ('grace'), after it (or with no grace period at all) 'reuse', and the session is revoked.
 */
describe(SessionsService.name, () => {
  let ledger: SessionLedgerMock;
  let state: SessionStateMock;
  let codec: RefreshTokenCodec;
  let warnings: jest.SpyInstance;
  let sut: SessionsService;
  let createSut: SessionsServiceHarness['createSut'];

  /** The ledger's answer when another request claimed the presented generation `ago` ms before NOW. */
  function claimedBy(ago: number, overrides: Partial<SessionRecord> = {}): RotationAttempt {
    return { status: 'claimed', session: sessionRecord({ generation: PRESENTED, ...overrides }), claimedAt: at(-ago) };
  }

  function rotatePresented() {
    return sut.rotate(codec.encode(SESSION_ID, PRESENTED), NOW);
  }

  function successor(): string {
    return codec.encode(SESSION_ID, PRESENTED + 1);
  }

  beforeEach(() => {
    ({ ledger, state, codec, sut, createSut } = sessionsServiceHarness({ refreshReuseGraceMs: GRACE_MS }));
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('grace', () => {
    it("gives the same successor token that the 'rotated' answer to the winning request gave", async () => {
      ledger.rotateRefreshToken.mockResolvedValueOnce({
        status: 'rotated',
        session: sessionRecord({ generation: PRESENTED + 1, rotatedAt: NOW }),
      });
      const winner = await rotatePresented();
      ledger.rotateRefreshToken.mockResolvedValueOnce(claimedBy(GRACE_MS / 2));

      const result = await rotatePresented();

      expect(winner).toMatchObject({ outcome: 'rotated', issued: { refreshToken: successor() } });
      expect(result).toEqual({
        outcome: 'grace',
        issued: expect.objectContaining({ sessionId: SESSION_ID, userId: USER_ID, refreshToken: successor() }),
      });
    });

    it.each<[string, number, Partial<SessionRecord>]>([
      ['exactly at the end of the grace period', GRACE_MS, {}],
      ['for a claim later than this request read its clock', -5, {}],
      ['from the claim, however long ago the session rotated before it', 1_000, { rotatedAt: at(-HOUR) }],
    ])('applies %s, without revoking or reading the session again', async (_label, ago, session) => {
      ledger.rotateRefreshToken.mockResolvedValue(claimedBy(ago, session));

      await expect(rotatePresented()).resolves.toMatchObject({
        outcome: 'grace',
        issued: { refreshToken: successor() },
      });
      expect(ledger.findById).not.toHaveBeenCalled();
      expect(ledger.revoke).not.toHaveBeenCalled();
      expect(state.recordRevoked).not.toHaveBeenCalled();
      expect(warnings).not.toHaveBeenCalled();
    });

    it("caps the successor's expiry by the session's absolute end", async () => {
      const absolute = at(30 * 60_000);
      ledger.rotateRefreshToken.mockResolvedValue(
        claimedBy(1_000, { idleExpiresAt: at(2 * HOUR), absoluteExpiresAt: absolute }),
      );

      const result = await rotatePresented();

      expect(result.outcome === 'grace' && result.issued.expiresAt).toEqual(absolute);
    });
  });

  describe('reuse', () => {
    it.each<[string, number, number, Partial<SessionRecord>]>([
      ['one millisecond after the grace period', GRACE_MS, GRACE_MS + 1, {}],
      [
        'past the grace period, however recently the session rotated before',
        GRACE_MS,
        GRACE_MS + 1,
        { rotatedAt: NOW },
      ],
      ['for a claim in the same millisecond when the grace period is 0', 0, 0, {}],
      ['for a claim a millisecond earlier when the grace period is 0', 0, 1, {}],
      ['for a claim later than this request read its clock when the grace period is 0', 0, -1, {}],
    ])('is the token %s', async (_label, grace, ago, session) => {
      sut = createSut({ refreshReuseGraceMs: grace });
      ledger.rotateRefreshToken.mockResolvedValue(claimedBy(ago, session));

      await expect(rotatePresented()).resolves.toEqual({ outcome: 'reuse', sessionId: SESSION_ID, userId: USER_ID });
      expect(ledger.revoke).toHaveBeenCalledWith(SESSION_ID, 'refresh_reuse', NOW);
    });

    it("revokes the session with reason 'refresh_reuse' in the database, then publishes it", async () => {
      ledger.rotateRefreshToken.mockResolvedValue(claimedBy(GRACE_MS + 1));

      await rotatePresented();

      expect(ledger.revoke).toHaveBeenCalledTimes(1);
      expect(state.recordRevoked).toHaveBeenCalledWith([SESSION_ID]);
      expect(ledger.revoke.mock.invocationCallOrder[0]).toBeLessThan(state.recordRevoked.mock.invocationCallOrder[0]);
      expect(ledger.findById).not.toHaveBeenCalled();
    });

    it('logs one audit line naming the presented generation and the one claimed after it, but not the token', async () => {
      ledger.rotateRefreshToken.mockResolvedValue(claimedBy(GRACE_MS + 1));
      const presented = codec.encode(SESSION_ID, PRESENTED);

      await sut.rotate(presented, NOW);

      expect(warnings).toHaveBeenCalledTimes(1);
      const line: unknown = warnings.mock.calls[0][0];
      expect(line).toMatchObject({
        audit: 'refresh_reuse_detected',
        sessionId: SESSION_ID,
        userId: USER_ID,
        presentedGeneration: PRESENTED,
        currentGeneration: PRESENTED + 1,
      });
      expect(JSON.stringify(line)).not.toContain(presented.split('.')[2]);
    });

    it('fails rather than answering when the revocation cannot be published', async () => {
      ledger.rotateRefreshToken.mockResolvedValue(claimedBy(GRACE_MS + 1));
      state.recordRevoked.mockRejectedValue(new Error('Redis down'));

      await expect(rotatePresented()).rejects.toThrow('Redis down');
    });
  });
});
