import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerStorage, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { InjectThrottlerOptions, InjectThrottlerStorage } from '@nestjs/throttler';
import { clientAddressKey } from '../../common/http/client-address';
import type { HttpRequest } from '../../common/http/http-request';
import { authConfig, type AuthConfig } from '../../config';
import { RATE_LIMIT_BUDGET_KEY } from '../decorators/rate-limit-budget.decorator';

/**
 * AUTH_RATE_LIMIT requests a minute per client address (an IPv6 /64 counts as one) to the routes of a
 * @RateLimitBudget; 0 turns it off. Registered before the JWT guard, so requests with bad tokens count
 * too.
 */
@Injectable()
export class AuthRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly budgets: Reflector,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {
    super(options, storage, budgets);
  }

  /** One count per address and budget, not one per route (the library's default). */
  protected override generateKey(context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${this.budgetOf(context)}:${throttlerName}:${tracker}`;
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(clientAddressKey((req as unknown as HttpRequest).ip));
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return this.config.authRateLimitPerMinute === 0 || !this.budgetOf(context);
  }

  private budgetOf(context: ExecutionContext): string | null | undefined {
    return this.budgets.getAllAndOverride<string | null | undefined>(RATE_LIMIT_BUDGET_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
  }
}
