import { appConfig, appConfigFrom } from './app.config';
import { authConfig, authConfigFrom } from './auth.config';
import { cryptoConfig, cryptoConfigFrom } from './crypto.config';
import { databaseConfig, databaseConfigFrom } from './database.config';
import { loggingConfig, loggingConfigFrom } from './logging.config';
import { loginThrottleConfig, loginThrottleConfigFrom } from './login-throttle.config';
import { redisConfig, redisConfigFrom } from './redis.config';
import { usersConfig, usersConfigFrom } from './users.config';

export { appConfig, type AppConfig } from './app.config';
export { authConfig, type AuthConfig } from './auth.config';
export { cryptoConfig, type CryptoConfig } from './crypto.config';
export { databaseConfig, type DatabaseConfig } from './database.config';
export { loggingConfig, type LoggingConfig } from './logging.config';
export { loginThrottleConfig, type LoginThrottleConfig } from './login-throttle.config';
export { redisConfig, type RedisConfig } from './redis.config';
export { usersConfig, type UsersConfig } from './users.config';
export { EnvironmentValidationError, parseEnvironment, type Environment } from './environment';

/** Every feature's settings provider, with how its value derives from a parsed environment. */
export const FEATURE_CONFIGS = [
  { config: appConfig, from: appConfigFrom },
  { config: authConfig, from: authConfigFrom },
  { config: cryptoConfig, from: cryptoConfigFrom },
  { config: databaseConfig, from: databaseConfigFrom },
  { config: loggingConfig, from: loggingConfigFrom },
  { config: loginThrottleConfig, from: loginThrottleConfigFrom },
  { config: redisConfig, from: redisConfigFrom },
  { config: usersConfig, from: usersConfigFrom },
] as const;
