import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The auth settings, derived from the parsed environment. */
export function authConfigFrom(env: Environment) {
  return {
    accessTokenSecret: env.accessTokenSecret,
    refreshTokenSecret: env.refreshTokenSecret,
    accessTokenTtlMs: env.accessTokenTtlMs,
    refreshTokenTtlMs: env.refreshTokenTtlMs,
    sessionMaxLifetimeMs: env.sessionMaxLifetimeMs,
    refreshReuseGraceMs: env.refreshReuseGraceMs,
    cookie: { secure: env.cookieSecure, sameSite: env.cookieSameSite },
    authRateLimitPerMinute: env.authRateLimit,
    passwordChangeRateLimitPerMinute: env.passwordChangeRateLimit,
    verifyRateLimitPerMinute: env.verifyRateLimit,
    corsOrigins: env.corsOrigins,
    revocationFeedToken: env.revocationFeedToken,
  };
}
export type AuthConfig = ReturnType<typeof authConfigFrom>;

export const authConfig = registerAs('auth', (): AuthConfig => authConfigFrom(loadEnvironment()));
