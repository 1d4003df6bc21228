import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_BUDGET_KEY = 'auth:rate-limit-budget';

/** AUTH_RATE_LIMIT requests a minute per address. */
export const AUTH_BUDGET = 'auth';
/** PASSWORD_CHANGE_RATE_LIMIT requests a minute per address. */
export const PASSWORD_CHANGE_BUDGET = 'password-change';
/** VERIFY_RATE_LIMIT requests a minute per address (off by default: a proxy calls verify for every request). */
export const VERIFY_BUDGET = 'verify';
export type RateLimitBudgetName = typeof AUTH_BUDGET | typeof PASSWORD_CHANGE_BUDGET | typeof VERIFY_BUDGET;

/**
 * Puts a controller's routes, or one route, under a per-address budget of requests a minute, shared by
 * every route that names the same budget; `null` takes a route out of its controller's budget. Routes
 * without a budget are not counted.
 */
export const RateLimitBudget = (budget: RateLimitBudgetName | null) => SetMetadata(RATE_LIMIT_BUDGET_KEY, budget);
