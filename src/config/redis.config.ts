import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const redisConfig = registerAs('redis', () => {
  const env = loadEnvironment();
  return {
    /** Unset: revocation state and rate limits live in the database. */
    url: env.redisUrl,
    /** A request waits at most this long for Redis before it is answered with 503. */
    commandTimeoutMs: 1000,
  };
});
export type RedisConfig = ConfigType<typeof redisConfig>;
