import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { SESSION_ID, USER_ID } from '../testing/sessions.fixture';
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
const NOW_MS = Date.parse('2030-01-01T12:00:00.000Z');
/** How long the store waits between two re-publications that traffic starts. */
const REPUBLISH_RETRY_MS = 1_000;

/** Lets the un-awaited re-publication run to completion. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A revocation Redis did not take while connected (OOM, read-only replica, timeout) leaves a revoked
 * session live in Redis: checks fail closed until the database's revocations are in Redis again.
 */
describe(RedisSessionState.name, () => {
  let redis: FakeRedis;
  let revokedSince: jest.Mock<Promise<string[]>, [Date]>;
  let clock: number;
  let sut: RedisSessionState;

  beforeEach(() => {
    clock = NOW_MS;
    // The Clock (token lifetimes) and Date.now (the pacing of retries, on real time) move together here.
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = fakeRedis();
    // The database holds the revocation that Redis refused.
    revokedSince = jest.fn().mockResolvedValue([SESSION_ID]);
    sut = new RedisSessionState(redis as unknown as Redis, ACCESS_TOKEN_TTL_MS, revokedSince, {
      now: () => clock,
    });
  });

  afterEach(() => jest.restoreAllMocks());

  async function issue(sessionId: string): Promise<void> {
    await sut.recordIssued(sessionId, USER_ID, new Date(NOW_MS + ACCESS_TOKEN_TTL_MS));
  }

  /** Revokes SESSION_ID through a transaction that fails as `transaction` does. */
  async function refusedRevocation(transaction: FakeTransaction = transactionResolving(null)): Promise<void> {
    redis.multi.mockReturnValueOnce(transaction);
    await expect(sut.recordRevoked([SESSION_ID])).rejects.toBeInstanceOf(StateStoreUnavailableError);
  }

  it.each([
    ['a rejected exec', () => transactionRejecting(new Error('Command timed out'))],
    ['an aborted exec', () => transactionResolving(null)],
    [
      'one failed command',
      () =>
        transactionResolving([
          [null, 'OK'],
          [new Error('OOM command not allowed when used memory > maxmemory'), null],
        ]),
    ],
  ])('refuses the next check with 503 after %s, though Redis still holds the session as live', async (_label, tx) => {
    await issue(SESSION_ID);

    await refusedRevocation(tx());

    expect(redis.data.size).toBe(1);
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });

  it('refuses checks of every session, not only the one whose revocation failed', async () => {
    await issue(OTHER_SESSION_ID);
    revokedSince.mockReturnValue(new Promise(() => undefined));

    await refusedRevocation();

    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });

  it('checks against Redis again once the re-publication succeeded, with the revocation in it', async () => {
    await issue(SESSION_ID);
    await issue(OTHER_SESSION_ID);
    await refusedRevocation();

    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await settle();

    expect(revokedSince).toHaveBeenCalledTimes(1);
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).resolves.toBe(true);
  });

  it('stays closed while Redis refuses the re-publication too', async () => {
    await issue(SESSION_ID);
    await refusedRevocation();
    redis.multi.mockReturnValueOnce(transactionResolving(null));

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await settle();
    clock += REPUBLISH_RETRY_MS;

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await settle();
    expect(revokedSince).toHaveBeenCalledTimes(2);
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
  });

  // A flood of requests must not turn into a flood of database reads while the database is down.
  it('retries the re-publication on traffic at most once a second', async () => {
    await refusedRevocation();
    revokedSince.mockRejectedValue(new Error('no primary'));
    const check = async () => {
      await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
      await settle();
    };

    await check();
    await check();
    clock += REPUBLISH_RETRY_MS - 1;
    await check();
    expect(revokedSince).toHaveBeenCalledTimes(1);

    clock += 1;
    await check();
    await check();
    expect(revokedSince).toHaveBeenCalledTimes(2);
  });

  it('does not count a re-publication that a refused revocation overtook', async () => {
    let finish!: (ids: string[]) => void;
    revokedSince.mockReturnValueOnce(new Promise((resolve) => (finish = resolve)));
    await refusedRevocation();
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);

    redis.multi.mockReturnValueOnce(transactionRejecting(new Error('Command timed out')));
    await expect(sut.recordRevoked([OTHER_SESSION_ID])).rejects.toBeInstanceOf(StateStoreUnavailableError);
    finish([SESSION_ID]);
    await settle();

    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });

  it('does not try to re-publish while the connection is not ready', async () => {
    await refusedRevocation();
    redis.status = 'reconnecting';

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await settle();

    expect(revokedSince).not.toHaveBeenCalled();
  });
});
