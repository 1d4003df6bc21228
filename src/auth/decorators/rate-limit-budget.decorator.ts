import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_BUDGET_KEY = 'auth:rate-limit-budget';

/**
 * Puts a controller's routes, or one route, under a per-address budget of AUTH_RATE_LIMIT requests a
 * minute, shared by every route that names the same budget; `null` takes a route out of its
 * controller's budget. Routes without a budget are not counted.
 */
export const RateLimitBudget = (budget: string | null) => SetMetadata(RATE_LIMIT_BUDGET_KEY, budget);
