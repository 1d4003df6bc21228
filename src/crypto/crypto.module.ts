import { Global, Module } from '@nestjs/common';
import { OWASP_PASSWORD_HASH_COST, PASSWORD_HASH_COST } from './password-hash-cost';
import { AccessTokenSigner } from './access-token-signer.service';
import { PasswordHasher } from './password-hasher.service';
import { TokenCrypto } from './token-crypto.service';

@Global()
@Module({
  providers: [
    { provide: PASSWORD_HASH_COST, useValue: OWASP_PASSWORD_HASH_COST },
    PasswordHasher,
    TokenCrypto,
    AccessTokenSigner,
  ],
  exports: [PasswordHasher, TokenCrypto, AccessTokenSigner],
})
export class CryptoModule {}
