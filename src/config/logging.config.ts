import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const loggingConfig = registerAs('logging', () => {
  const env = loadEnvironment();
  return {
    level: env.logLevel,
    /** JSON lines are appended to this file instead of standard output. */
    file: env.logFile,
  };
});
export type LoggingConfig = ConfigType<typeof loggingConfig>;
