import { Clock } from '../../src/common/clock/clock';

/** The rate limiters' window, as configured in the app (requests per minute). */
const RATE_WINDOW_MS = 60_000;

/** The clock of every app a test file builds in-process: real time plus an offset that only grows. */
export class TestClock extends Clock {
  private offsetMs = 0;

  override now(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * Moves the time of every app of this test file forward by `ms`: the lifetimes they count in the
   * Clock (sessions, access tokens, the database's login-failure window) pass without waiting. Not
   * Redis's own key expiry, which runs on Redis's clock.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`TestClock only moves forward, not by ${ms} ms`);
    this.offsetMs += ms;
  }

  /**
   * Moves forward to `timeMs` of this clock. Throws if that has passed already: a test that wanted to be
   * just before a lifetime's end and is not must fail, not quietly assert something else.
   */
  advanceTo(timeMs: number): void {
    const ahead = timeMs - this.now();
    if (ahead < 0) throw new RangeError(`TestClock is already ${-ahead} ms past the time to advance to`);
    this.offsetMs += ahead;
  }

  /**
   * Jumps to just past the start of the next rate-limit window: counts made before are in a past
   * window, and no window ends during the next 59 s, so each count a test asserts is of one window.
   * In Redis mode only the local first count moves: Redis keeps its own windows, so suites counting
   * there use an app (and an address) of their own per test.
   */
  startFreshRateWindow(): void {
    this.offsetMs += RATE_WINDOW_MS - (this.now() % RATE_WINDOW_MS) + 1;
  }
}

export const testClock = new TestClock();
