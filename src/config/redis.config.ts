import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The redis settings, derived from the parsed environment. */
export function redisConfigFrom(env: Environment) {
  return {
    /** Unset: revocation state and rate limits live in the database. */
    topology: env.redis,
    /** A request waits at most this long for Redis before it is answered with 503. */
    commandTimeoutMs: 1000,
  };
}
export type RedisConfig = ReturnType<typeof redisConfigFrom>;

export const redisConfig = registerAs('redis', (): RedisConfig => redisConfigFrom(loadEnvironment()));
