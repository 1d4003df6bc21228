import type { AuthConfig } from '../auth.config';

/** The contract's defaults with fixed secrets, for unit specs; override what a spec is about. */
export function makeAuthConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    accessTokenSecret: 'access-Secret-0123456789-abcdefghijklmnopqrstuv',
    refreshTokenSecret: 'refresh-Secret-9876543210-zyxwvutsrqponmlkjihgf',
    accessTokenTtlMs: 15 * 60_000,
    refreshTokenTtlMs: 7 * 86_400_000,
    sessionMaxLifetimeMs: 30 * 86_400_000,
    refreshReuseGraceMs: 10_000,
    cookie: { secure: true, sameSite: 'strict' },
    authRateLimitPerMinute: 100,
    passwordChangeRateLimitPerMinute: 10,
    verifyRateLimitPerMinute: 0,
    corsOrigins: [],
    revocationFeedToken: undefined,
    ...overrides,
  };
}
