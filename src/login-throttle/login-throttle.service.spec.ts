import { HttpStatus } from '@nestjs/common';
import { ServiceBusyException } from '../common/exceptions/service-busy.exception';
import { TooManyRequestsException } from '../common/exceptions/too-many-requests.exception';
import type { LoginFailureStore } from './login-failure.store';
import { LoginThrottleService, refundIfBusy } from './login-throttle.service';

const NOW = new Date('2030-01-01T12:00:00.000Z');
/** The Clock the service counts the window in. */
const clock = { now: () => NOW.getTime() };
const WINDOW_MS = 15 * 60_000;
const MAX_FAILURES = 5;
const refund = jest.fn().mockResolvedValue(undefined);
const config = { maxFailures: MAX_FAILURES, failureWindowMs: WINDOW_MS };

describe(LoginThrottleService.name, () => {
  let store: jest.Mocked<Pick<LoginFailureStore, 'reserve' | 'clear'>>;
  let sut: LoginThrottleService;

  beforeEach(() => {
    store = {
      reserve: jest.fn().mockResolvedValue({ allowed: true, closesAt: new Date(NOW.getTime() + WINDOW_MS), refund }),
      clear: jest.fn().mockResolvedValue(undefined),
    };
    sut = new LoginThrottleService(store as unknown as LoginFailureStore, config, clock);
  });

  /** The key beginAttempt reserved under. */
  function reservedKey(): string {
    return store.reserve.mock.calls[0][0];
  }

  describe('beginAttempt', () => {
    it('reserves the attempt in the window of LOGIN_FAILURE_WINDOW with at most LOGIN_MAX_FAILURES', async () => {
      await sut.beginAttempt('alice', '198.51.100.7');

      expect(store.reserve).toHaveBeenCalledWith('alice|198.51.100.7', NOW, WINDOW_MS, MAX_FAILURES);
    });

    it("lets the attempt through when the store allows it, handing back the store's refund", async () => {
      await expect(sut.beginAttempt('alice', '198.51.100.7')).resolves.toBe(refund);
    });

    it('refuses with 429 and a Retry-After running to the end of the window when the store refuses', async () => {
      store.reserve.mockResolvedValue({ allowed: false, closesAt: new Date(NOW.getTime() + 90_000), refund });

      const error: unknown = await sut.beginAttempt('alice', '198.51.100.7').catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(TooManyRequestsException);
      expect((error as TooManyRequestsException).getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
      expect((error as TooManyRequestsException).retryAfterSeconds).toBe(90);
      expect((error as TooManyRequestsException).message).toBe('Too many failed logins, try again later');
    });

    it.each([
      ['a part of a second left, rounded up', 1_200, 2],
      ['a window closing now', 0, 1],
      ['a window already closed (clocks apart)', -5_000, 1],
    ])('asks for at least one second: %s', async (_label, remainingMs, seconds) => {
      store.reserve.mockResolvedValue({ allowed: false, closesAt: new Date(NOW.getTime() + remainingMs), refund });

      const error = (await sut.beginAttempt('alice', null).catch((caught: unknown) => caught)) as
        TooManyRequestsException | undefined;

      expect(error).toBeInstanceOf(TooManyRequestsException);
      expect(error?.retryAfterSeconds).toBe(seconds);
    });

    it('counts a username separately per address, so that nobody can lock a user out from elsewhere', async () => {
      await sut.beginAttempt('alice', '198.51.100.7');
      await sut.beginAttempt('alice', '203.0.113.9');

      expect(store.reserve.mock.calls[0][0]).not.toBe(store.reserve.mock.calls[1][0]);
    });

    // One IPv6 client usually holds a whole /64 and could otherwise guess from a new address each time.
    it('counts every address of one IPv6 /64 together', async () => {
      await sut.beginAttempt('alice', '2001:db8:1:2::1');
      await sut.beginAttempt('alice', '2001:db8:1:2:ffff:ffff:ffff:ffff');

      expect(store.reserve.mock.calls[0][0]).toBe(store.reserve.mock.calls[1][0]);
      expect(reservedKey()).toBe('alice|2001:db8:1:2::/64');
    });

    it('keeps two /64s apart', async () => {
      await sut.beginAttempt('alice', '2001:db8:1:2::1');
      await sut.beginAttempt('alice', '2001:db8:1:3::1');

      expect(store.reserve.mock.calls[0][0]).not.toBe(store.reserve.mock.calls[1][0]);
    });

    it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
      await sut.beginAttempt('alice', '::ffff:198.51.100.7');

      expect(reservedKey()).toBe('alice|198.51.100.7');
    });

    it('counts attempts without a known address under one key', async () => {
      await sut.beginAttempt('alice', null);

      expect(reservedKey()).toBe('alice|unknown');
    });

    it('passes a failing store on rather than letting the attempt through', async () => {
      store.reserve.mockRejectedValue(new Error('Redis: Connection is closed.'));

      await expect(sut.beginAttempt('alice', '198.51.100.7')).rejects.toThrow('Connection is closed');
    });
  });

  describe('recordSuccess', () => {
    it('clears the key the attempts were counted under', async () => {
      await sut.beginAttempt('alice', '2001:db8:1:2::1');

      await sut.recordSuccess('alice', '2001:db8:1:2::abcd');

      expect(store.clear).toHaveBeenCalledWith(reservedKey());
    });
  });

  describe('the burst shortcut', () => {
    it('asks the store again after a refusal: a window that concurrent attempts filled and then gave back is open again', async () => {
      store.reserve.mockResolvedValueOnce({ allowed: false, closesAt: new Date(NOW.getTime() + 60_000), refund });
      await expect(sut.beginAttempt('alice', '198.51.100.7')).rejects.toBeInstanceOf(TooManyRequestsException);

      await expect(sut.beginAttempt('alice', '198.51.100.7')).resolves.toBe(refund);
      expect(store.reserve).toHaveBeenCalledTimes(2);
    });

    it('counts at most LOGIN_MAX_FAILURES attempts of one key at once; the rest of a burst is refused at once', async () => {
      // The store never answers: every attempt past the first ones must be decided without it.
      store.reserve.mockImplementation(() => new Promise(() => undefined));
      const burst = Array.from({ length: MAX_FAILURES + 3 }, () =>
        sut.beginAttempt('alice', '198.51.100.7').catch((error: unknown) => error),
      );

      const refused = await Promise.all(burst.slice(MAX_FAILURES));

      expect(refused.every((error) => error instanceof TooManyRequestsException)).toBe(true);
      expect(store.reserve).toHaveBeenCalledTimes(MAX_FAILURES);
    });
  });

  describe(refundIfBusy.name, () => {
    it('takes the attempt back when the password could not be checked (503), and rethrows', async () => {
      const busy = new ServiceBusyException(2);
      const takeBack = jest.fn().mockResolvedValue(undefined);

      await expect(refundIfBusy(takeBack)(busy)).rejects.toBe(busy);
      expect(takeBack).toHaveBeenCalledTimes(1);
    });

    it('keeps the attempt counted for any other error', async () => {
      const failure = new Error('database unavailable');
      const takeBack = jest.fn().mockResolvedValue(undefined);

      await expect(refundIfBusy(takeBack)(failure)).rejects.toBe(failure);
      expect(takeBack).not.toHaveBeenCalled();
    });
  });
});
