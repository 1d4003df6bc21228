import { Inject, Injectable } from '@nestjs/common';
import { authConfig, type AuthConfig } from '../../config';
import { TooManyRequestsException } from '../../common/exceptions/too-many-requests.exception';
import { toUsernameKey } from '../../users/schemas/user.schema';
import { LoginFailureStore } from './login-failure.store';

/**
 * LOGIN_MAX_FAILURES failed logins for one username from one client address within
 * LOGIN_FAILURE_WINDOW: further attempts from that address get 429 until the window passes.
 * The same username from another address is unaffected, so nobody can lock a user out.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    private readonly failures: LoginFailureStore,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {}

  async assertAllowed(username: string, clientIp: string | null, now = new Date()): Promise<void> {
    const window = await this.failures.openWindow(this.key(username, clientIp), now, this.config.loginFailureWindowMs);
    if (!window || window.count < this.config.loginMaxFailures) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.closesAt.getTime() - now.getTime()) / 1000));
    throw new TooManyRequestsException(retryAfterSeconds, 'Too many failed logins, try again later');
  }

  recordFailure(username: string, clientIp: string | null, now = new Date()): Promise<void> {
    return this.failures.recordFailure(this.key(username, clientIp), now, this.config.loginFailureWindowMs);
  }

  recordSuccess(username: string, clientIp: string | null): Promise<void> {
    return this.failures.clear(this.key(username, clientIp));
  }

  private key(username: string, clientIp: string | null): string {
    return `${toUsernameKey(username)}|${clientIp ?? 'unknown'}`;
  }
}
