import { Types } from 'mongoose';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { RefreshTokenCodec } from './refresh-token.codec';
import type { RotationAttempt } from './session-ledger';
import type { NewSession, SessionRecord } from './sessions.repository';
import { SessionsService } from './sessions.service';
import {
  at,
  CLIENT,
  CREDENTIALS_VERSION,
  HOUR,
  NOW,
  SESSION_ID,
  sessionRecord,
  sessionsConfig as config,
  sessionsServiceHarness,
  USER_ID,
  type SessionLedgerMock,
  type SessionsServiceHarness,
} from './testing/sessions.fixture';

/** The ledger's answer when this request won the claim and rotated the session. */
function rotated(session: SessionRecord): RotationAttempt {
  return { status: 'rotated', session };
}

/** What the ledger would store for a new session. */
function recordFor(session: NewSession): SessionRecord {
  return sessionRecord({
    _id: session.id,
    userId: new Types.ObjectId(session.userId),
    idleExpiresAt: session.idleExpiresAt,
    absoluteExpiresAt: session.absoluteExpiresAt,
    credentialsVersion: session.credentialsVersion,
  });
}

describe(SessionsService.name, () => {
  let ledger: SessionLedgerMock;
  let codec: RefreshTokenCodec;
  let sut: SessionsService;
  let createSut: SessionsServiceHarness['createSut'];

  beforeEach(() => {
    ({ ledger, codec, sut, createSut } = sessionsServiceHarness());
    ledger.create.mockImplementation((session: NewSession) => Promise.resolve(recordFor(session)));
  });

  describe('start', () => {
    it('stores the hash of the refresh token it returns, never the token itself', async () => {
      const issued = await sut.start(USER_ID, CLIENT, CREDENTIALS_VERSION, NOW);

      const stored = ledger.create.mock.calls[0][0];
      expect(stored.refreshTokenHash).toBe(codec.hash(issued.refreshToken));
      expect(JSON.stringify(stored)).not.toContain(issued.refreshToken);
      expect(JSON.stringify(stored)).not.toContain(issued.refreshToken.split('.')[2]);
    });

    it('returns a generation-0 token bound to the new session and its user', async () => {
      const issued = await sut.start(USER_ID, CLIENT, CREDENTIALS_VERSION, NOW);

      const stored = ledger.create.mock.calls[0][0];
      expect(issued.sessionId).toBe(stored.id.toHexString());
      expect(issued.userId).toBe(USER_ID);
      expect(codec.decode(issued.refreshToken)).toEqual({ sessionId: stored.id.toHexString(), generation: 0 });
    });

    it("sets the idle expiry from REFRESH_TOKEN_EXPIRY and the absolute one from SESSION_MAX_LIFETIME, from the Clock's time", async () => {
      // No `now` given: the harness's Clock stands at NOW.
      await sut.start(USER_ID, CLIENT, CREDENTIALS_VERSION);

      expect(ledger.create).toHaveBeenCalledWith(
        expect.objectContaining({
          userId: USER_ID,
          now: NOW,
          idleExpiresAt: at(2 * HOUR),
          absoluteExpiresAt: at(10 * HOUR),
          userAgent: CLIENT.userAgent,
          ip: CLIENT.ip,
        }),
      );
    });

    it("records the user's credentials version the password was checked against, and hands it back", async () => {
      const issued = await sut.start(USER_ID, CLIENT, 'credentials-v7', NOW);

      expect(ledger.create).toHaveBeenCalledWith(expect.objectContaining({ credentialsVersion: 'credentials-v7' }));
      expect(issued.credentialsVersion).toBe('credentials-v7');
    });

    it('starts a new session id, and so a different token, each time', async () => {
      const first = await sut.start(USER_ID, CLIENT, CREDENTIALS_VERSION, NOW);
      const second = await sut.start(USER_ID, CLIENT, CREDENTIALS_VERSION, NOW);

      expect(second.sessionId).not.toBe(first.sessionId);
      expect(second.refreshToken).not.toBe(first.refreshToken);
    });
  });

  describe('rotate, when the ledger rotates the session', () => {
    it('asks to rotate the presented generation and hash to the successor hash', async () => {
      const presented = codec.encode(SESSION_ID, 4);
      ledger.rotateRefreshToken.mockResolvedValue(rotated(sessionRecord({ generation: 5 })));

      await sut.rotate(presented, NOW);

      expect(ledger.rotateRefreshToken).toHaveBeenCalledTimes(1);
      expect(ledger.rotateRefreshToken).toHaveBeenCalledWith({
        sessionId: SESSION_ID,
        expectedGeneration: 4,
        expectedHash: codec.hash(presented),
        nextHash: codec.hash(codec.encode(SESSION_ID, 5)),
        now: NOW,
        nextIdleExpiresAt: at(config.refreshTokenTtlMs),
      });
    });

    it("answers 'rotated' with the successor token, of generation + 1, for the same session", async () => {
      ledger.rotateRefreshToken.mockResolvedValue(
        rotated(sessionRecord({ generation: 5, credentialsVersion: 'credentials-v3' })),
      );

      const result = await sut.rotate(codec.encode(SESSION_ID, 4), NOW);

      expect(result).toEqual({
        outcome: 'rotated',
        issued: expect.objectContaining({
          sessionId: SESSION_ID,
          userId: USER_ID,
          refreshToken: codec.encode(SESSION_ID, 5),
          credentialsVersion: 'credentials-v3',
        }),
      });
      expect(ledger.findById).not.toHaveBeenCalled();
      expect(ledger.revoke).not.toHaveBeenCalled();
    });

    it.each([
      [
        'a token minted with another secret',
        () =>
          new RefreshTokenCodec(new TokenCrypto(), {
            ...config,
            refreshTokenSecret: 'another-Secret-0123456789-ABCDEFGHIJ',
          }).encode(SESSION_ID, 0),
      ],
      ['a token with a tampered generation', () => codec.encode(SESSION_ID, 0).replace('.0.', '.1.')],
      ['a garbage string', () => 'not-a-refresh-token'],
      ['an operator object', () => ({ $ne: null })],
      ['undefined', () => undefined],
    ])("answers 'invalid' for %s without asking the ledger", async (_label, presented) => {
      await expect(sut.rotate(presented(), NOW)).resolves.toEqual({ outcome: 'invalid' });
      expect(ledger.rotateRefreshToken).not.toHaveBeenCalled();
      expect(ledger.findById).not.toHaveBeenCalled();
    });
  });

  describe("the issued token's expiresAt", () => {
    it('is the idle expiry when that comes first', async () => {
      const idle = at(HOUR);
      ledger.rotateRefreshToken.mockResolvedValue(
        rotated(sessionRecord({ idleExpiresAt: idle, absoluteExpiresAt: at(5 * HOUR) })),
      );

      const result = await sut.rotate(codec.encode(SESSION_ID, 0), NOW);

      expect(result.outcome === 'rotated' && result.issued.expiresAt).toEqual(idle);
    });

    it('is the absolute expiry when the session ends before the idle window does', async () => {
      const absolute = at(30 * 60_000);
      ledger.rotateRefreshToken.mockResolvedValue(
        rotated(sessionRecord({ idleExpiresAt: at(2 * HOUR), absoluteExpiresAt: absolute })),
      );

      const result = await sut.rotate(codec.encode(SESSION_ID, 0), NOW);

      expect(result.outcome === 'rotated' && result.issued.expiresAt).toEqual(absolute);
    });

    it('is capped by SESSION_MAX_LIFETIME for a new session when that is shorter than the idle window', async () => {
      const issued = await createSut({ sessionMaxLifetimeMs: HOUR }).start(USER_ID, CLIENT, CREDENTIALS_VERSION, NOW);

      expect(issued.expiresAt).toEqual(at(HOUR));
    });
  });
});
