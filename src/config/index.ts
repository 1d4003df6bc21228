export { appConfig, type AppConfig } from './app.config';
export { authConfig, type AuthConfig } from './auth.config';
export { cryptoConfig, type CryptoConfig } from './crypto.config';
export { databaseConfig, type DatabaseConfig } from './database.config';
export { loggingConfig, type LoggingConfig } from './logging.config';
export { redisConfig, type RedisConfig } from './redis.config';
export { usersConfig, type UsersConfig } from './users.config';
export { EnvironmentValidationError } from './environment';
