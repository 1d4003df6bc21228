import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerStorage, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import { InjectThrottlerOptions, InjectThrottlerStorage } from '@nestjs/throttler';
import { authConfig, type AuthConfig } from '../../config';
import {
  AUTH_BUDGET,
  PASSWORD_CHANGE_BUDGET,
  RATE_LIMIT_BUDGET_KEY,
  type RateLimitBudgetName,
  VERIFY_BUDGET,
} from '../../access/rate-limit-budget.decorator';

/**
 * Requests a minute per client address to the routes of a @RateLimitBudget (the library's own tracker
 * keys an address as clientAddressKey does: an IPv6 /64 as one, ::ffff:a.b.c.d as a.b.c.d):
 * AUTH_RATE_LIMIT for /api/auth/*, PASSWORD_CHANGE_RATE_LIMIT for the password change, VERIFY_RATE_LIMIT
 * for forward-auth; 0 turns a budget off. Registered before the JWT guard, so requests with bad tokens count too.
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

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return this.limitOf(this.budgetOf(context)) === 0;
  }

  protected override handleRequest(request: ThrottlerRequest): Promise<boolean> {
    return super.handleRequest({ ...request, limit: this.limitOf(this.budgetOf(request.context)) });
  }

  private limitOf(budget: RateLimitBudgetName | null | undefined): number {
    if (budget === AUTH_BUDGET) return this.config.authRateLimitPerMinute;
    if (budget === PASSWORD_CHANGE_BUDGET) return this.config.passwordChangeRateLimitPerMinute;
    if (budget === VERIFY_BUDGET) return this.config.verifyRateLimitPerMinute;
    return 0;
  }

  private budgetOf(context: ExecutionContext): RateLimitBudgetName | null | undefined {
    return this.budgets.getAllAndOverride<RateLimitBudgetName | null | undefined>(RATE_LIMIT_BUDGET_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
  }
}
