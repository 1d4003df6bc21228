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
   * Jumps to just past the start of the next rate-limit window: counts made before are in a past
   * window, and no window ends during the next 59 s, so each count a test asserts is of one window.
   */
  startFreshRateWindow(): void {
    this.offsetMs += RATE_WINDOW_MS - (this.now() % RATE_WINDOW_MS) + 1;
  }
}

export const testClock = new TestClock();
