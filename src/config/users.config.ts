import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const usersConfig = registerAs('users', () => {
  const env = loadEnvironment();
  return {
    bootstrapAdmin:
      env.adminUsername !== undefined && env.adminPassword !== undefined
        ? { username: env.adminUsername, password: env.adminPassword }
        : undefined,
  };
});
export type UsersConfig = ConfigType<typeof usersConfig>;
