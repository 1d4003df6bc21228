import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The logging settings, derived from the parsed environment. */
export function loggingConfigFrom(env: Environment) {
  return {
    level: env.logLevel,
    /** JSON lines are appended to this file instead of standard output. */
    file: env.logFile,
    /**
     * Human-readable lines (pino-pretty) instead of JSON: LOG_FORMAT=pretty, or by default (auto) when
     * standard output is a terminal outside production. A file, a pipe or production get JSON.
     */
    pretty:
      !env.logFile &&
      (env.logFormat === 'pretty' ||
        (env.logFormat === 'auto' && env.nodeEnv !== 'production' && process.stdout.isTTY === true)),
  };
}
export type LoggingConfig = ReturnType<typeof loggingConfigFrom>;

export const loggingConfig = registerAs('logging', (): LoggingConfig => loggingConfigFrom(loadEnvironment()));
