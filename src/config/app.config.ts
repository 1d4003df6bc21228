import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const appConfig = registerAs('app', () => {
  const env = loadEnvironment();
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
});
export type AppConfig = ConfigType<typeof appConfig>;
