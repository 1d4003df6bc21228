import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const loggingConfig = registerAs('logging', () => {
  const env = loadEnvironment();
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
});
export type LoggingConfig = ConfigType<typeof loggingConfig>;
