export interface AttemptReservation {
  /** False when the window already holds the most attempts allowed: the password must not be checked. */
  allowed: boolean;
  /** When the window closes and its count no longer applies. */
  closesAt: Date;
  /** Takes the attempt back: for a password that could not be checked at all. */
  refund: () => Promise<void>;
}

/**
 * Password attempts per (username, client address) within LOGIN_FAILURE_WINDOW: in Redis when
 * configured, else in the database, so every instance counts together.
 *
 * An attempt is counted before its password is checked, in one atomic step with the decision, so that
 * concurrent guesses cannot all pass a count read before any of them was written. An attempt that turns
 * out right clears the key; one that turns out wrong stays counted as a failure.
 */
export abstract class LoginFailureStore {
  abstract reserve(key: string, now: Date, windowMs: number, maxAttempts: number): Promise<AttemptReservation>;
  abstract clear(key: string): Promise<void>;
}
