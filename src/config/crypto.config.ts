import { registerAs, type ConfigType } from '@nestjs/config';
import { loadEnvironment } from './load-environment';

export const cryptoConfig = registerAs('crypto', () => {
  const env = loadEnvironment();
  return { passwordHashQueueLimit: env.passwordHashQueueLimit };
});
export type CryptoConfig = ConfigType<typeof cryptoConfig>;
