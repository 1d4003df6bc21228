import { Global, Module } from '@nestjs/common';
import { PasswordHasher } from './password-hasher.service';
import { TokenCrypto } from './token-crypto.service';

@Global()
@Module({
  providers: [PasswordHasher, TokenCrypto],
  exports: [PasswordHasher, TokenCrypto],
})
export class CryptoModule {}
