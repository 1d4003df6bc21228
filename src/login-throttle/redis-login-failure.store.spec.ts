import type Redis from 'ioredis';
import { StateStoreUnavailableError } from '../common/exceptions/state-store-unavailable.error';
import { RedisLoginFailureStore } from './redis-login-failure.store';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const WINDOW_MS = 15 * 60_000;
const MAX_ATTEMPTS = 5;
const KEY = 'alice|198.51.100.7';

type ExecResult = [Error | null, unknown][] | null;

interface FakeMulti {
  set: jest.Mock<FakeMulti, unknown[]>;
  incr: jest.Mock<FakeMulti, unknown[]>;
  pttl: jest.Mock<FakeMulti, unknown[]>;
  exec: jest.Mock<Promise<ExecResult>, []>;
}

/** A MULTI that records its commands and answers `results` on exec. */
function transaction(results: ExecResult | Error): FakeMulti {
  const multi: FakeMulti = {
    set: jest.fn(() => multi),
    incr: jest.fn(() => multi),
    pttl: jest.fn(() => multi),
    exec: jest.fn(() => (results instanceof Error ? Promise.reject(results) : Promise.resolve(results))),
  };
  return multi;
}

/** What Redis answers for the attempt at `position` with `ttlMs` left in the window. */
function answer(position: number, ttlMs: number): ExecResult {
  return [
    [null, position === 1 ? 'OK' : null],
    [null, position],
    [null, ttlMs],
  ];
}

describe(RedisLoginFailureStore.name, () => {
  let multi: FakeMulti;
  let redis: { multi: jest.Mock; del: jest.Mock };
  let sut: RedisLoginFailureStore;

  function answering(results: ExecResult | Error): void {
    multi = transaction(results);
    redis.multi.mockReturnValue(multi);
  }

  beforeEach(() => {
    redis = { multi: jest.fn(), del: jest.fn().mockResolvedValue(1) };
    answering(answer(1, WINDOW_MS));
    sut = new RedisLoginFailureStore(redis as unknown as Redis);
  });

  describe('reserve', () => {
    it('starts the window with the first attempt and counts each attempt in the same transaction', async () => {
      await sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS);

      const name = multi.set.mock.calls[0][0] as string;
      expect(name).toContain(KEY);
      expect(multi.set).toHaveBeenCalledWith(name, '0', 'PX', WINDOW_MS, 'NX');
      expect(multi.incr).toHaveBeenCalledWith(name);
      expect(multi.pttl).toHaveBeenCalledWith(name);
      expect(multi.exec).toHaveBeenCalledTimes(1);
    });

    it.each([1, MAX_ATTEMPTS])('allows attempt %i of %i', async (position) => {
      answering(answer(position, 60_000));

      await expect(sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS)).resolves.toEqual({
        allowed: true,
        closesAt: new Date(NOW.getTime() + 60_000),
        refund: expect.any(Function),
      });
    });

    it('refuses the attempt past the limit, with the window closing when its key expires', async () => {
      answering(answer(MAX_ATTEMPTS + 1, 42_000));

      await expect(sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS)).resolves.toEqual({
        allowed: false,
        closesAt: new Date(NOW.getTime() + 42_000),
        refund: expect.any(Function),
      });
    });

    it.each([-1, -2])('assumes a whole window when the key has no lifetime left (PTTL %i)', async (ttl) => {
      answering(answer(MAX_ATTEMPTS + 1, ttl));

      const reservation = await sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS);

      expect(reservation.closesAt).toEqual(new Date(NOW.getTime() + WINDOW_MS));
    });

    it.each<[string, ExecResult | Error]>([
      ['a rejected exec', new Error('Connection is closed.')],
      ['an aborted exec', null],
      [
        'a failed command',
        [
          [null, 'OK'],
          [new Error('OOM command not allowed'), null],
          [null, WINDOW_MS],
        ],
      ],
    ])('fails closed on %s: no answer lets the password be checked', async (_label, results) => {
      answering(results);

      await expect(sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS)).rejects.toBeInstanceOf(StateStoreUnavailableError);
    });
  });

  describe('clear', () => {
    it('deletes the key the attempts were counted under', async () => {
      await sut.reserve(KEY, NOW, WINDOW_MS, MAX_ATTEMPTS);

      await sut.clear(KEY);

      expect(redis.del).toHaveBeenCalledWith(multi.set.mock.calls[0][0]);
    });
  });
});
