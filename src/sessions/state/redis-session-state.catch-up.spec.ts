import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { SESSION_ID, USER_ID } from '../testing/sessions.fixture';
import { fakeRedis, transactionResolving, type FakeRedis } from '../testing/fake-redis';
import { RedisSessionState } from './redis-session-state';

const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';
const ACCESS_TOKEN_TTL_MS = 15 * 60_000;
const NOW = new Date('2030-01-01T12:00:00.000Z');

/**
 * Every instance regularly publishes the database's recent revocations that Redis has no marker for:
 * those whose publication failed on another instance. A refused write there makes this instance fail
 * closed as well.
 */
describe(`${RedisSessionState.name} catch-up`, () => {
  let redis: FakeRedis;
  let revokedSince: jest.Mock<Promise<string[]>, [Date]>;
  let sut: RedisSessionState;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = fakeRedis();
    revokedSince = jest.fn().mockResolvedValue([SESSION_ID, OTHER_SESSION_ID]);
    sut = new RedisSessionState(redis as unknown as Redis, ACCESS_TOKEN_TTL_MS, revokedSince, {
      now: () => NOW.getTime(),
    });
  });

  afterEach(() => jest.restoreAllMocks());

  async function issue(sessionId: string): Promise<void> {
    await sut.recordIssued(sessionId, USER_ID, new Date(NOW.getTime() + ACCESS_TOKEN_TTL_MS));
  }

  it('asks the database for the revocations of the last minute', async () => {
    await sut.catchUp(NOW);

    expect(revokedSince).toHaveBeenCalledWith(new Date(NOW.getTime() - 60_000));
  });

  it('publishes only the revocations Redis lacks, and the sessions are refused from then on', async () => {
    await issue(SESSION_ID);
    await issue(OTHER_SESSION_ID);
    await sut.recordRevoked([OTHER_SESSION_ID]);
    redis.multi.mockClear();

    await sut.catchUp(NOW);

    expect(redis.multi).toHaveBeenCalledTimes(1);
    const transaction = redis.multi.mock.results[0].value as { set: jest.Mock };
    expect(transaction.set).toHaveBeenCalledTimes(1);
    expect(transaction.set.mock.calls[0][0]).toContain(SESSION_ID);
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
  });

  it('writes nothing when every recent revocation is in Redis already', async () => {
    await sut.recordRevoked([SESSION_ID, OTHER_SESSION_ID]);
    redis.multi.mockClear();

    await sut.catchUp(NOW);

    expect(redis.multi).not.toHaveBeenCalled();
  });

  it('fails closed when Redis refuses the missing revocations', async () => {
    await issue(SESSION_ID);
    redis.multi.mockReturnValueOnce(transactionResolving(null));

    await sut.catchUp(NOW);

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });

  it('once stale, re-publishes everything recent on its own, without waiting for traffic', async () => {
    await issue(SESSION_ID);
    redis.multi.mockReturnValueOnce(transactionResolving(null));
    await sut.catchUp(NOW);

    await sut.catchUp(NOW);

    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
  });

  it('changes nothing when the database cannot be read', async () => {
    await issue(SESSION_ID);
    revokedSince.mockRejectedValueOnce(new Error('no primary'));

    await expect(sut.catchUp(NOW)).resolves.toBeUndefined();

    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
  });

  it('does nothing while Redis is not connected', async () => {
    redis.status = 'reconnecting';

    await sut.catchUp(NOW);

    expect(revokedSince).not.toHaveBeenCalled();
  });
});
