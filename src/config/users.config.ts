import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The users settings, derived from the parsed environment. */
export function usersConfigFrom(env: Environment) {
  return {
    bootstrapAdmin:
      env.adminUsername !== undefined && env.adminPassword !== undefined
        ? { username: env.adminUsername, password: env.adminPassword }
        : undefined,
  };
}
export type UsersConfig = ReturnType<typeof usersConfigFrom>;

export const usersConfig = registerAs('users', (): UsersConfig => usersConfigFrom(loadEnvironment()));
