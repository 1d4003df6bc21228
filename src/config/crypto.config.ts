import { registerAs } from '@nestjs/config';
import type { Environment } from './environment';
import { loadEnvironment } from './load-environment';

/** The crypto settings, derived from the parsed environment. */
export function cryptoConfigFrom(env: Environment) {
  return { passwordHashQueueLimit: env.passwordHashQueueLimit, accessTokenSigning: env.accessTokenSigning };
}
export type CryptoConfig = ReturnType<typeof cryptoConfigFrom>;

export const cryptoConfig = registerAs('crypto', (): CryptoConfig => cryptoConfigFrom(loadEnvironment()));
