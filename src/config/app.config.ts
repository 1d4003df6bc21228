import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The app settings, derived from the parsed environment. */
export function appConfigFrom(env: Environment) {
  return {
    nodeEnv: env.nodeEnv,
    production: env.nodeEnv === 'production',
    port: env.port,
    host: env.host,
    corsOrigins: env.corsOrigins,
    trustProxy: env.trustProxy,
    requestTimeoutMs: env.requestTimeoutMs,
    httpAdapter: env.httpAdapter,
  };
}
export type AppConfig = ReturnType<typeof appConfigFrom>;

export const appConfig = registerAs('app', (): AppConfig => appConfigFrom(loadEnvironment()));
