import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const authConfig = registerAs('auth', () => {
  const env = loadEnvironment();
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
    loginMaxFailures: env.loginMaxFailures,
    loginFailureWindowMs: env.loginFailureWindowMs,
    corsOrigins: env.corsOrigins,
  };
});
export type AuthConfig = ConfigType<typeof authConfig>;
