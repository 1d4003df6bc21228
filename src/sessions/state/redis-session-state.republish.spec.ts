import { Logger } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { SESSION_ID, USER_ID } from '../testing/sessions.fixture';
import { fakeRedis, type FakeRedis } from '../testing/fake-redis';
import { StateStoreUnavailableError } from '../../common/exceptions/state-store-unavailable.error';
import { RedisSessionState } from './redis-session-state';

const OTHER_SESSION_ID = '6650f0c2a1b2c3d4e5f6071a';
const ACCESS_TOKEN_TTL_MS = 15 * 60_000;
const CLOCK_MARGIN_MS = 60_000;
const NOW = new Date('2030-01-01T12:00:00.000Z');
/** How long the store waits between two re-publications that traffic starts. */
const REPUBLISH_RETRY_MS = 1_000;

/** Lets the listener's un-awaited work run to completion. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Revocations that reached the database while Redis was unreachable are published once it is back. */
describe(RedisSessionState.name, () => {
  let redis: FakeRedis;
  let revokedSince: jest.Mock<Promise<string[]>, [Date]>;
  let warnings: jest.SpyInstance;
  let clock: number;
  let sut: RedisSessionState;

  beforeEach(() => {
    clock = NOW.getTime();
    // The Clock (token lifetimes) and Date.now (the pacing of retries, on real time) move together here.
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = fakeRedis();
    revokedSince = jest.fn().mockResolvedValue([SESSION_ID, OTHER_SESSION_ID]);
    sut = new RedisSessionState(redis as unknown as Redis, ACCESS_TOKEN_TTL_MS, revokedSince, {
      now: () => clock,
    });
  });

  afterEach(() => jest.restoreAllMocks());

  it('looks back over every revocation whose access tokens may still be unexpired', async () => {
    await sut.republishRecentRevocations(NOW);

    expect(revokedSince).toHaveBeenCalledWith(new Date(NOW.getTime() - ACCESS_TOKEN_TTL_MS - CLOCK_MARGIN_MS));
  });

  it('marks those sessions revoked in Redis, so that tokens recorded as live are refused', async () => {
    await sut.recordIssued(SESSION_ID, USER_ID, new Date(clock + ACCESS_TOKEN_TTL_MS));

    await sut.republishRecentRevocations(NOW);

    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
  });

  it('re-publishes when the connection is ready again after an error', async () => {
    redis.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    redis.emit('ready');
    await settle();

    expect(revokedSince).toHaveBeenCalledTimes(1);
    // One transaction per revoked session.
    expect(redis.multi).toHaveBeenCalledTimes(2);
  });

  it('does nothing on the first ready, when Redis was never unreachable', async () => {
    redis.emit('ready');
    await settle();

    expect(revokedSince).not.toHaveBeenCalled();
  });

  it('re-publishes once per outage, not on every ready', async () => {
    redis.emit('error', new Error('Connection is closed.'));
    redis.emit('ready');
    await settle();
    redis.emit('ready');
    await settle();

    expect(revokedSince).toHaveBeenCalledTimes(1);
  });

  it('logs a failed re-publication and tries again at the next ready', async () => {
    revokedSince.mockRejectedValueOnce(new Error('no primary'));

    redis.emit('error', new Error('Connection is closed.'));
    redis.emit('ready');
    await settle();
    redis.emit('ready');
    await settle();

    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('no primary'));
    expect(revokedSince).toHaveBeenCalledTimes(2);
    // One transaction per revoked session.
    expect(redis.multi).toHaveBeenCalledTimes(2);
  });

  it('re-publishes after a connection closed without an error (Redis back before the first reconnection)', async () => {
    redis.emit('close');
    redis.emit('ready');
    await settle();

    expect(revokedSince).toHaveBeenCalledTimes(1);
    // One transaction per revoked session.
    expect(redis.multi).toHaveBeenCalledTimes(2);
  });

  it('refuses to check tokens (503) from the loss until the re-publication is done, then checks them', async () => {
    await sut.recordIssued(SESSION_ID, USER_ID, new Date(clock + ACCESS_TOKEN_TTL_MS));
    let finish!: (ids: string[]) => void;
    revokedSince.mockReturnValueOnce(new Promise((resolve) => (finish = resolve)));

    redis.emit('close');
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    redis.emit('ready');
    await settle();
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);

    finish([OTHER_SESSION_ID]);
    await settle();
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).resolves.toBe(false);
  });

  it('gives up on a re-publication that never settles, so that a later one can start', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'Date'] });
    try {
      revokedSince.mockReturnValueOnce(new Promise<string[]>(() => undefined));
      redis.emit('close');
      redis.emit('ready');
      await settle();
      jest.advanceTimersByTime(10_000);
      await settle();
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('unfinished'));

      clock += REPUBLISH_RETRY_MS;
      await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
      await settle();
      expect(revokedSince).toHaveBeenCalledTimes(2);
      await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not count a re-publication overtaken by a newer loss', async () => {
    let finish!: (ids: string[]) => void;
    revokedSince.mockReturnValueOnce(new Promise((resolve) => (finish = resolve)));
    redis.emit('close');
    redis.emit('ready');
    await settle();
    redis.emit('close');
    finish([]);
    await settle();

    clock += REPUBLISH_RETRY_MS;
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await settle();
    // The refused check, a second after the last attempt, started the next one (the client is
    // connected), which succeeds.
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    expect(revokedSince).toHaveBeenCalledTimes(2);
  });
});

/** A cluster stays ready while one of its masters dies: node losses and new masters count. */
describe(`${RedisSessionState.name} on a Redis Cluster`, () => {
  const MASTER_A = '127.0.0.1:7000';
  const MASTER_B = '127.0.0.1:7001';
  let redis: FakeRedis;
  let slots: string[][];
  let revokedSince: jest.Mock<Promise<string[]>, [Date]>;
  let sut: RedisSessionState;
  const refreshSlotsCache = jest.fn();

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = fakeRedis();
    slots = Array.from({ length: 16_384 }, () => [MASTER_A]);
    revokedSince = jest.fn().mockResolvedValue([OTHER_SESSION_ID]);
    const cluster = Object.assign(Object.create(Cluster.prototype) as Cluster, redis, { slots, refreshSlotsCache });
    sut = new RedisSessionState(cluster, ACCESS_TOKEN_TTL_MS, revokedSince, { now: () => NOW.getTime() });
    redis.emit('refresh');
    redis.emit('ready');
    await sut.recordIssued(SESSION_ID, USER_ID, new Date(NOW.getTime() + ACCESS_TOKEN_TTL_MS));
    await sut.recordIssued(OTHER_SESSION_ID, USER_ID, new Date(NOW.getTime() + ACCESS_TOKEN_TTL_MS));
  });

  afterEach(() => {
    sut.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  async function expectRefusedUntilRepublished(): Promise<void> {
    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await sut.catchUp(NOW);
    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
    await expect(sut.isActive(OTHER_SESSION_ID, USER_ID)).resolves.toBe(false);
    expect(revokedSince).toHaveBeenCalledWith(new Date(NOW.getTime() - ACCESS_TOKEN_TTL_MS - CLOCK_MARGIN_MS));
  }

  it('refuses checks (503) after a node left the pool, until recent revocations are published again', async () => {
    redis.emit('-node', {});

    await expectRefusedUntilRepublished();
  });

  it('ignores nodes dropped before the first slot map (seeds named otherwise than in the map)', async () => {
    const fresh = fakeRedis();
    const cluster = Object.assign(Object.create(Cluster.prototype) as Cluster, fresh, { slots, refreshSlotsCache });
    const starting = new RedisSessionState(cluster, ACCESS_TOKEN_TTL_MS, revokedSince, { now: () => NOW.getTime() });
    fresh.emit('-node', {});
    fresh.emit('ready');

    await expect(starting.isActive(SESSION_ID, USER_ID)).resolves.toBe(false);
    starting.onApplicationShutdown();
  });

  it('refuses checks after a refresh of the slot map found a new master for some slots', async () => {
    slots[42] = [MASTER_B];
    redis.emit('refresh');

    await expectRefusedUntilRepublished();
  });

  it('re-reads the slot map every 2 s while connected, until shut down', () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'Date'] });
    try {
      const timed = new RedisSessionState(
        Object.assign(Object.create(Cluster.prototype) as Cluster, fakeRedis(), { slots, refreshSlotsCache }),
        ACCESS_TOKEN_TTL_MS,
        revokedSince,
        { now: () => NOW.getTime() },
      );
      refreshSlotsCache.mockClear();
      jest.advanceTimersByTime(4_000);
      expect(refreshSlotsCache).toHaveBeenCalledTimes(2);
      timed.onApplicationShutdown();
      jest.advanceTimersByTime(4_000);
      expect(refreshSlotsCache).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps answering after a refresh that found the same masters', async () => {
    redis.emit('refresh');

    await expect(sut.isActive(SESSION_ID, USER_ID)).resolves.toBe(true);
  });

  it('refuses a check during which a node left the pool, whatever it read', async () => {
    const read = redis.mget.getMockImplementation() as (...keys: string[]) => Promise<(string | null)[]>;
    redis.mget.mockImplementationOnce((...keys: Array<string | string[]>) => {
      redis.emit('-node', {});
      return read(...keys.flat());
    });

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });

  it('refuses a check redirected to another master (a MOVED followed to a promoted replica)', async () => {
    const read = redis.mget.getMockImplementation() as (...keys: string[]) => Promise<(string | null)[]>;
    redis.mget.mockImplementationOnce((...keys: Array<string | string[]>) => {
      slots.fill([MASTER_B]);
      return read(...keys.flat());
    });

    await expect(sut.isActive(SESSION_ID, USER_ID)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await expectRefusedUntilRepublished();
  });
});
