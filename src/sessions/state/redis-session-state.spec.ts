import Redis, { Cluster } from 'ioredis';
import { StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { OTHER_USER_ID, SESSION_ID, USER_ID } from '../testing/sessions.fixture';
import {
  fakeRedis,
  transactionRejecting,
  transactionResolving,
  type FakeRedis,
  type FakeTransaction,
} from '../testing/fake-redis';
import { RedisSessionState } from './redis-session-state';

const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';
const ACCESS_TOKEN_TTL_MS = 15 * 60_000;
/** The allowance the store adds to every key for clocks that differ between instances. */
const CLOCK_MARGIN_MS = 60_000;
const NOW_MS = Date.parse('2030-01-01T12:00:00.000Z');

describe(RedisSessionState.name, () => {
  let redis: FakeRedis;
  let sut: RedisSessionState;

  beforeEach(() => {
    redis = fakeRedis();
    sut = new RedisSessionState(redis as unknown as Redis, ACCESS_TOKEN_TTL_MS, jest.fn().mockResolvedValue([]), {
      now: () => NOW_MS,
    });
  });

  afterEach(() => jest.restoreAllMocks());

  async function issue(sessionId = SESSION_ID, userId = USER_ID): Promise<void> {
    await sut.recordIssued(sessionId, userId, new Date(NOW_MS + ACCESS_TOKEN_TTL_MS));
  }

  describe('isActive', () => {
    it('is false for a session no token was recorded for (fails closed)', async () => {
      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    });

    it('is true once a token of the session was recorded for that user', async () => {
      await issue();

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
    });

    it("is false when the live session belongs to another user than the token's", async () => {
      await issue(SESSION_ID, OTHER_USER_ID);

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    });

    it('asks both questions of a live session in one MGET round trip, of two keys in one hash slot', async () => {
      await issue();
      redis.mget.mockClear();

      await sut.isActive(SESSION_ID, USER_ID);

      expect(redis.mget).toHaveBeenCalledTimes(1);
      expect(redis.mget.mock.calls[0]).toEqual([
        `slj:session:{${SESSION_ID}}:live`,
        `slj:session:{${SESSION_ID}}:revoked`,
      ]);
    });

    describe('keys written before the hash tags', () => {
      const legacyLive = `slj:session:live:${SESSION_ID}`;
      const legacyRevoked = `slj:session:revoked:${SESSION_ID}`;

      it('accepts a session whose only live key is a legacy one naming the user', async () => {
        redis.data.set(legacyLive, { value: USER_ID, ttlMs: ACCESS_TOKEN_TTL_MS });

        await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
        await expect(sut.isActive(SESSION_ID, OTHER_USER_ID)).resolves.toBe(false);
      });

      it('refuses a legacy live key beside a legacy revocation marker', async () => {
        redis.data.set(legacyLive, { value: USER_ID, ttlMs: ACCESS_TOKEN_TTL_MS });
        redis.data.set(legacyRevoked, { value: '1', ttlMs: ACCESS_TOKEN_TTL_MS });

        await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
      });

      it('refuses a legacy live key once the session is revoked under the new keys', async () => {
        redis.data.set(legacyLive, { value: USER_ID, ttlMs: ACCESS_TOKEN_TTL_MS });

        await sut.recordRevoked([SESSION_ID]);

        await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
      });

      it('are not read on a cluster, where the two of them would span slots (and none was ever written)', async () => {
        const cluster = Object.assign(Object.create(Cluster.prototype) as Cluster, redis, {
          slots: [],
          refreshSlotsCache: jest.fn(),
        });
        const onCluster = new RedisSessionState(cluster, ACCESS_TOKEN_TTL_MS, jest.fn().mockResolvedValue([]), {
          now: () => NOW_MS,
        });
        redis.data.set(legacyLive, { value: USER_ID, ttlMs: ACCESS_TOKEN_TTL_MS });

        await expect(onCluster.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
        expect(redis.mget).toHaveBeenCalledTimes(1);
        onCluster.onApplicationShutdown();
      });
    });

    it('is false after the session was revoked', async () => {
      await issue();

      await sut.recordRevoked([SESSION_ID]);

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    });

    it('stays false when a refresh racing with the revocation records a token afterwards', async () => {
      await sut.recordRevoked([SESSION_ID]);

      await issue();

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    });

    it('refuses a live value naming the user when a revocation marker is present', async () => {
      redis.mget.mockResolvedValue([USER_ID, '1']);

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    });

    it('does not let one revoked session affect another', async () => {
      await issue(SESSION_ID);
      await issue(OTHER_SESSION_ID);

      await sut.recordRevoked([OTHER_SESSION_ID]);

      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
    });

    it.each([
      ['a closed connection', new Error('Connection is closed.')],
      ['a command timeout', new Error('Command timed out')],
      ['a refused command', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ])('turns %s into StateStoreUnavailableError, never into an answer', async (_label, error) => {
      redis.mget.mockRejectedValue(error);

      await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });

  describe('recordIssued', () => {
    it("keeps the session live until the access token's expiry, plus the clock margin", async () => {
      const expiresInMs = 5 * 60_000;

      await sut.recordIssued(SESSION_ID, USER_ID, new Date(NOW_MS + expiresInMs));

      expect(redis.set).toHaveBeenCalledWith(expect.any(String), USER_ID, 'PX', expiresInMs + CLOCK_MARGIN_MS);
    });

    it('writes a positive lifetime for a token whose expiry has already passed', async () => {
      await sut.recordIssued(SESSION_ID, USER_ID, new Date(NOW_MS - 5_000));

      const [, , , ttlMs] = redis.set.mock.calls[0];
      expect(ttlMs).toBeGreaterThan(0);
      expect(ttlMs).toBeLessThanOrEqual(CLOCK_MARGIN_MS + 1);
    });

    it('turns a Redis failure into StateStoreUnavailableError', async () => {
      redis.set.mockRejectedValue(new Error('Connection is closed.'));

      await expect(issue()).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });

  describe('recordRevoked', () => {
    it('marks every given session revoked and drops its live key, in one transaction per session (one slot each)', async () => {
      await issue(SESSION_ID);
      await issue(OTHER_SESSION_ID);

      await sut.recordRevoked([SESSION_ID, OTHER_SESSION_ID]);

      expect(redis.multi).toHaveBeenCalledTimes(2);
      for (const [index, sessionId] of [SESSION_ID, OTHER_SESSION_ID].entries()) {
        const transaction = redis.multi.mock.results[index].value as FakeTransaction;
        expect(transaction.set.mock.calls).toEqual([
          [`slj:session:{${sessionId}}:revoked`, '1', 'PX', expect.any(Number)],
        ]);
        expect(transaction.del.mock.calls).toEqual([[`slj:session:{${sessionId}}:live`]]);
        expect(transaction.exec).toHaveBeenCalledTimes(1);
      }
      expect([...redis.data.values()].map((entry) => entry.value)).toEqual(['1', '1']);
    });

    it('fails the whole revocation when the transaction of any one session fails', async () => {
      redis.multi.mockImplementationOnce(() =>
        transactionResolving([
          [null, 'OK'],
          [null, 1],
        ]),
      );
      redis.multi.mockImplementationOnce(() => transactionRejecting(new Error('CLUSTERDOWN The cluster is down')));

      await expect(sut.recordRevoked([SESSION_ID, OTHER_SESSION_ID])).rejects.toBeInstanceOf(
        StateStoreUnavailableError,
      );
      await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });

    it('keeps the revocation marker at least as long as any access token can live', async () => {
      await sut.recordRevoked([SESSION_ID]);

      const [, , , ttlMs] = (redis.multi.mock.results[0].value as FakeTransaction).set.mock.calls[0] as [
        string,
        string,
        'PX',
        number,
      ];
      expect(ttlMs).toBeGreaterThanOrEqual(ACCESS_TOKEN_TTL_MS);
    });

    it('sends nothing to Redis for an empty list', async () => {
      await sut.recordRevoked([]);

      expect(redis.multi).not.toHaveBeenCalled();
    });

    it('turns a failing transaction into StateStoreUnavailableError', async () => {
      redis.multi.mockReturnValue(transactionRejecting(new Error('Connection is closed.')));

      await expect(sut.recordRevoked([SESSION_ID])).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });

    it('turns an aborted transaction (exec answering null) into StateStoreUnavailableError', async () => {
      redis.multi.mockReturnValue(transactionResolving(null));

      await expect(sut.recordRevoked([SESSION_ID])).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });

    it('turns one failed command in the transaction into StateStoreUnavailableError', async () => {
      redis.multi.mockReturnValue(
        transactionResolving([
          [null, 'OK'],
          [new Error('OOM command not allowed when used memory > maxmemory'), null],
        ]),
      );

      await expect(sut.recordRevoked([SESSION_ID])).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });
});
