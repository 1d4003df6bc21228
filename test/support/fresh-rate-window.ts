import { testClock } from './test-clock';

// Every e2e test starts in a rate-limit window of its own (see TestClock).
beforeEach(() => testClock.startFreshRateWindow());
