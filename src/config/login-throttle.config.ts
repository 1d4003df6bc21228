import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The login throttle's settings, derived from the parsed environment. */
export function loginThrottleConfigFrom(env: Environment) {
  return {
    maxFailures: env.loginMaxFailures,
    failureWindowMs: env.loginFailureWindowMs,
  };
}
export type LoginThrottleConfig = ReturnType<typeof loginThrottleConfigFrom>;

export const loginThrottleConfig = registerAs('loginThrottle', (): LoginThrottleConfig =>
  loginThrottleConfigFrom(loadEnvironment()),
);
