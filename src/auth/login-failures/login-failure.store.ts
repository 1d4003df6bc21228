export interface FailureWindow {
  count: number;
  /** When the window closes and the count no longer applies. */
  closesAt: Date;
}

/**
 * Failed logins per (username, client address) within LOGIN_FAILURE_WINDOW: in Redis when
 * configured, else in the database, so every instance counts together.
 */
export abstract class LoginFailureStore {
  abstract openWindow(key: string, now: Date, windowMs: number): Promise<FailureWindow | null>;
  abstract recordFailure(key: string, now: Date, windowMs: number): Promise<void>;
  abstract clear(key: string): Promise<void>;
}
