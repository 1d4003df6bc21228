import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The logging settings, derived from the parsed environment. */
export function loggingConfigFrom(env: Environment) {
  return {
    level: env.logLevel,
    /** JSON lines are appended to this file instead of standard output. */
    file: env.logFile,
  };
}
export type LoggingConfig = ReturnType<typeof loggingConfigFrom>;

export const loggingConfig = registerAs('logging', (): LoggingConfig => loggingConfigFrom(loadEnvironment()));
