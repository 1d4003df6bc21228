import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { loginThrottleConfig, type LoginThrottleConfig } from '../config';
import { ServiceBusyException } from '../common/exceptions/service-busy.exception';
import { TooManyRequestsException } from '../common/exceptions/too-many-requests.exception';
import { clientAddressKey } from '../common/http/client-address';
import { LoginFailureStore } from './login-failure.store';

/**
 * At most LOGIN_MAX_FAILURES password checks for one username from one client address within
 * LOGIN_FAILURE_WINDOW, however concurrent: every attempt is counted before its password is checked,
 * and a right password clears the count. Further attempts get 429 until the window passes, the right
 * password included. The same username from another address is unaffected, so nobody can lock a user
 * out.
 *
 * No more than LOGIN_MAX_FAILURES attempts of one key are counted at once by this instance: the rest of
 * a burst no person sends is refused without a round trip to the shared store.
 */
@Injectable()
export class LoginThrottleService {
  private readonly counting = new Map<string, number>();

  constructor(
    private readonly failures: LoginFailureStore,
    @Inject(loginThrottleConfig.KEY) private readonly config: LoginThrottleConfig,
    /** The database store's window slides in its time; Redis's counts down on Redis's own clock. */
    private readonly clock: Clock,
  ) {}

  /**
   * Counts a password attempt, or throws 429 when the window is full. Call before checking the password;
   * resolves with a function that takes the attempt back (see refundIfBusy). `usernameKey` is the
   * account's normalised name (toUsernameKey), so that case variants of a name share one count.
   */
  async beginAttempt(
    usernameKey: string,
    clientIp: string | null,
    now = new Date(this.clock.now()),
  ): Promise<() => Promise<void>> {
    const key = this.key(usernameKey, clientIp);
    const { failureWindowMs: windowMs, maxFailures: maxAttempts } = this.config;
    const counting = this.counting.get(key) ?? 0;
    if (counting >= maxAttempts) throw tooManyFailures(now.getTime() + windowMs, now);

    this.counting.set(key, counting + 1);
    let reservation;
    try {
      reservation = await this.failures.reserve(key, now, windowMs, maxAttempts);
    } finally {
      const left = (this.counting.get(key) ?? 1) - 1;
      if (left > 0) this.counting.set(key, left);
      else this.counting.delete(key);
    }
    if (reservation.allowed) return reservation.refund;
    throw tooManyFailures(reservation.closesAt.getTime(), now);
  }

  /** The password was right: earlier failures from this address no longer count. */
  recordSuccess(usernameKey: string, clientIp: string | null): Promise<void> {
    return this.failures.clear(this.key(usernameKey, clientIp));
  }

  private key(usernameKey: string, clientIp: string | null): string {
    return `${usernameKey}|${clientAddressKey(clientIp)}`;
  }
}

function tooManyFailures(until: number, now: Date): TooManyRequestsException {
  const retryAfterSeconds = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
  return new TooManyRequestsException(retryAfterSeconds, 'Too many failed logins, try again later');
}

/**
 * For a password check's `.catch`: a password that was never checked because the hashing queue was full
 * (503) is no failed attempt, or a flood from elsewhere would spend honest users' attempts for them.
 */
export function refundIfBusy(refund: (() => Promise<void>) | undefined) {
  return async (error: unknown): Promise<never> => {
    if (error instanceof ServiceBusyException && refund) await refund().catch(() => undefined);
    throw error;
  };
}
