import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { cryptoConfig } from '../config';
import { CryptoModule } from './crypto.module';
import { PasswordHasher } from './password-hasher.service';

@Global()
@Module({
  providers: [{ provide: cryptoConfig.KEY, useValue: { passwordHashQueueLimit: 8 } }],
  exports: [cryptoConfig.KEY],
})
class CryptoSettingsModule {}

describe(CryptoModule.name, () => {
  it('gives PasswordHasher the OWASP cost: new hashes are argon2id, m=19456 KiB, t=2, p=1', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CryptoSettingsModule, CryptoModule] }).compile();

    const hash = await moduleRef.get(PasswordHasher).hash('correct horse battery staple');

    const [, algorithm, , parameters] = hash.split('$');
    expect([algorithm, parameters.split(',').sort()]).toEqual(['argon2id', ['m=19456', 'p=1', 't=2']]);
    await moduleRef.close();
  });
});
