import { Types } from 'mongoose';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { RefreshTokenCodec } from './refresh-token.codec';
import type { NewSession, SessionRecord, SessionsRepository } from './sessions.repository';
import { SessionsService, type ClientInfo } from './sessions.service';

const HOUR = 3_600_000;
const config = makeAuthConfig({ refreshTokenTtlMs: 2 * HOUR, sessionMaxLifetimeMs: 10 * HOUR });

const NOW = new Date('2030-01-01T12:00:00.000Z');
const USER_ID = '6650f0c2a1b2c3d4e5f60718';
const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const CLIENT: ClientInfo = { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', ip: '203.0.113.7' };

function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    _id: new Types.ObjectId(SESSION_ID),
    userId: new Types.ObjectId(USER_ID),
    generation: 0,
    lastUsedAt: NOW,
    idleExpiresAt: new Date(NOW.getTime() + config.refreshTokenTtlMs),
    absoluteExpiresAt: new Date(NOW.getTime() + config.sessionMaxLifetimeMs),
    revokedAt: null,
    userAgent: CLIENT.userAgent,
    ip: CLIENT.ip,
    createdAt: NOW,
    ...overrides,
  } as SessionRecord;
}

/** What the repository would store for a new session. */
function recordFor(session: NewSession): SessionRecord {
  return sessionRecord({
    _id: session.id,
    userId: new Types.ObjectId(session.userId),
    idleExpiresAt: session.idleExpiresAt,
    absoluteExpiresAt: session.absoluteExpiresAt,
  });
}

describe(SessionsService.name, () => {
  let repository: jest.Mocked<Pick<SessionsRepository, 'create' | 'rotateRefreshToken' | 'isLive' | 'revoke'>>;
  let codec: RefreshTokenCodec;
  let sut: SessionsService;

  beforeEach(() => {
    repository = {
      create: jest.fn((session: NewSession) => Promise.resolve(recordFor(session))),
      rotateRefreshToken: jest.fn(),
      isLive: jest.fn(),
      revoke: jest.fn(),
    };
    codec = new RefreshTokenCodec(new TokenCrypto(), config);
    sut = new SessionsService(repository as unknown as SessionsRepository, codec, config);
  });

  describe('start', () => {
    it('stores the hash of the refresh token it returns, never the token itself', async () => {
      const issued = await sut.start(USER_ID, CLIENT, NOW);

      const stored = repository.create.mock.calls[0][0];
      expect(stored.refreshTokenHash).toBe(codec.hash(issued.refreshToken));
      expect(JSON.stringify(stored)).not.toContain(issued.refreshToken);
      expect(JSON.stringify(stored)).not.toContain(issued.refreshToken.split('.')[2]);
    });

    it('returns a generation-0 token bound to the new session and its user', async () => {
      const issued = await sut.start(USER_ID, CLIENT, NOW);

      const stored = repository.create.mock.calls[0][0];
      expect(issued.sessionId).toBe(stored.id.toHexString());
      expect(issued.userId).toBe(USER_ID);
      expect(codec.decode(issued.refreshToken)).toEqual({ sessionId: stored.id.toHexString(), generation: 0 });
    });

    it('sets the idle expiry from REFRESH_TOKEN_EXPIRY and the absolute one from SESSION_MAX_LIFETIME', async () => {
      await sut.start(USER_ID, CLIENT, NOW);

      expect(repository.create).toHaveBeenCalledWith(
        expect.objectContaining({
          userId: USER_ID,
          now: NOW,
          idleExpiresAt: new Date(NOW.getTime() + 2 * HOUR),
          absoluteExpiresAt: new Date(NOW.getTime() + 10 * HOUR),
          userAgent: CLIENT.userAgent,
          ip: CLIENT.ip,
        }),
      );
    });

    it('starts a new session id, and so a different token, each time', async () => {
      const first = await sut.start(USER_ID, CLIENT, NOW);
      const second = await sut.start(USER_ID, CLIENT, NOW);

      expect(second.sessionId).not.toBe(first.sessionId);
      expect(second.refreshToken).not.toBe(first.refreshToken);
    });
  });

  describe('rotate', () => {
    it('sends a compare-and-set on the presented generation and hash with the successor hash', async () => {
      const presented = codec.encode(SESSION_ID, 4);
      repository.rotateRefreshToken.mockResolvedValue(sessionRecord({ generation: 5 }));

      const issued = await sut.rotate(presented, NOW);

      expect(repository.rotateRefreshToken).toHaveBeenCalledTimes(1);
      expect(repository.rotateRefreshToken).toHaveBeenCalledWith({
        sessionId: SESSION_ID,
        expectedGeneration: 4,
        expectedHash: codec.hash(presented),
        nextHash: codec.hash(issued!.refreshToken),
        now: NOW,
        nextIdleExpiresAt: new Date(NOW.getTime() + config.refreshTokenTtlMs),
      });
    });

    it('returns the successor token, of generation + 1, for the same session', async () => {
      repository.rotateRefreshToken.mockResolvedValue(sessionRecord({ generation: 5 }));

      const issued = await sut.rotate(codec.encode(SESSION_ID, 4), NOW);

      expect(issued).toMatchObject({ sessionId: SESSION_ID, userId: USER_ID, refreshToken: codec.encode(SESSION_ID, 5) });
    });

    it.each([
      [
      'a token minted with another secret',
      () =>
        new RefreshTokenCodec(new TokenCrypto(), { ...config, refreshTokenSecret: 'another-Secret-0123456789-ABCDEFGHIJ' })
          .encode(SESSION_ID, 0),
    ],
      ['a token with a tampered generation', () => codec.encode(SESSION_ID, 0).replace('.0.', '.1.')],
      ['a garbage string', () => 'not-a-refresh-token'],
      ['an operator object', () => ({ $ne: null })],
      ['undefined', () => undefined],
    ])('returns null for %s without asking the repository', async (_label, presented) => {
      await expect(sut.rotate(presented(), NOW)).resolves.toBeNull();
      expect(repository.rotateRefreshToken).not.toHaveBeenCalled();
    });

    it('returns null when the repository matches no current session (stale, used or ended)', async () => {
      repository.rotateRefreshToken.mockResolvedValue(null);

      await expect(sut.rotate(codec.encode(SESSION_ID, 1), NOW)).resolves.toBeNull();
    });
  });

  describe('expiresAt', () => {
    it('is the idle expiry when that comes first', async () => {
      const idle = new Date(NOW.getTime() + HOUR);
      repository.rotateRefreshToken.mockResolvedValue(
        sessionRecord({ idleExpiresAt: idle, absoluteExpiresAt: new Date(NOW.getTime() + 5 * HOUR) }),
      );

      const issued = await sut.rotate(codec.encode(SESSION_ID, 0), NOW);

      expect(issued?.expiresAt).toEqual(idle);
    });

    it('is the absolute expiry when the session ends before the idle window does', async () => {
      const absolute = new Date(NOW.getTime() + 30 * 60_000);
      repository.rotateRefreshToken.mockResolvedValue(
        sessionRecord({ idleExpiresAt: new Date(NOW.getTime() + 2 * HOUR), absoluteExpiresAt: absolute }),
      );

      const issued = await sut.rotate(codec.encode(SESSION_ID, 0), NOW);

      expect(issued?.expiresAt).toEqual(absolute);
    });

    it('is capped by SESSION_MAX_LIFETIME for a new session when that is shorter than the idle window', async () => {
      const shortLived = new SessionsService(repository as unknown as SessionsRepository, codec, {
        ...config,
        sessionMaxLifetimeMs: HOUR,
      });

      const issued = await shortLived.start(USER_ID, CLIENT, NOW);

      expect(issued.expiresAt).toEqual(new Date(NOW.getTime() + HOUR));
    });
  });

  it('passes liveness checks and revocations through for the given session', async () => {
    repository.isLive.mockResolvedValue(true);
    repository.revoke.mockResolvedValue(true);

    await expect(sut.isLive(SESSION_ID, USER_ID, NOW)).resolves.toBe(true);
    await expect(sut.revoke(SESSION_ID, 'logout', NOW)).resolves.toBe(true);
    expect(repository.isLive).toHaveBeenCalledWith(SESSION_ID, USER_ID, NOW);
    expect(repository.revoke).toHaveBeenCalledWith(SESSION_ID, 'logout', NOW);
  });
});
