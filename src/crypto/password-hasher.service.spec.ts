import { HttpStatus, Logger } from '@nestjs/common';
import { ServiceBusyException } from '../common/exceptions/service-busy.exception';
import { OWASP_PASSWORD_HASH_COST } from './password-hash-cost';
import { HASH_CONCURRENCY, PasswordHasher } from './password-hasher.service';

const PASSWORD = 'correct horse battery staple';

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` → its algorithm and parameters. */
function encodedParameters(hash: string): { algorithm: string; m: number; t: number; p: number } {
  const [, algorithm, , parameters] = hash.split('$');
  const values = Object.fromEntries(parameters.split(',').map((pair) => pair.split('=')));
  return { algorithm, m: Number(values.m), t: Number(values.t), p: Number(values.p) };
}

describe(PasswordHasher.name, () => {
  let sut: PasswordHasher;

  beforeEach(() => {
    sut = new PasswordHasher({ passwordHashQueueLimit: 64 }, OWASP_PASSWORD_HASH_COST);
  });

  it('hashes with argon2id, m=19456 KiB, t=2, p=1', async () => {
    const hash = await sut.hash(PASSWORD);

    expect(encodedParameters(hash)).toEqual({ algorithm: 'argon2id', m: 19_456, t: 2, p: 1 });
  });

  it('verifies a hash made at another cost: each hash carries its own parameters', async () => {
    const cheaper = new PasswordHasher(
      { passwordHashQueueLimit: 64 },
      { memoryCost: 1024, timeCost: 1, parallelism: 1 },
    );
    const hash = await cheaper.hash(PASSWORD);

    expect(encodedParameters(hash)).toEqual({ algorithm: 'argon2id', m: 1024, t: 1, p: 1 });
    await expect(sut.verify(hash, PASSWORD)).resolves.toBe(true);
    await expect(sut.verify(hash, `${PASSWORD}!`)).resolves.toBe(false);
  });

  it('salts every hash: one password hashed twice gives two different hashes', async () => {
    const [first, second] = await Promise.all([sut.hash(PASSWORD), sut.hash(PASSWORD)]);

    expect(first).not.toBe(second);
    expect(first).not.toContain(PASSWORD);
  });

  it('verifies the right password as true and a wrong one as false', async () => {
    const hash = await sut.hash(PASSWORD);

    await expect(sut.verify(hash, PASSWORD)).resolves.toBe(true);
    await expect(sut.verify(hash, `${PASSWORD} `)).resolves.toBe(false);
    await expect(sut.verify(hash, 'Correct horse battery staple')).resolves.toBe(false);
  });

  it.each(['', 'not-a-hash', '$argon2id$v=19$m=19456,t=2,p=1$garbage', '$2b$10$abcdefghijklmnopqrstuv'])(
    'verifies against a malformed stored hash %j as false instead of throwing',
    async (malformed) => {
      await expect(sut.verify(malformed, PASSWORD)).resolves.toBe(false);
    },
  );

  it('always resolves the dummy verification as false', async () => {
    sut.onModuleInit();

    await expect(sut.verifyAgainstDummy(PASSWORD)).resolves.toBe(false);
    await expect(sut.verifyAgainstDummy('')).resolves.toBe(false);
  });

  it('does not block the event loop while hashing', async () => {
    let turns = 0;
    let hashing = true;
    const spin = () => {
      if (!hashing) return;
      turns += 1;
      setImmediate(spin);
    };
    setImmediate(spin);

    await sut.hash(PASSWORD);
    hashing = false;

    // A synchronous hash would finish before the first setImmediate callback: the count would be ~0.
    expect(turns).toBeGreaterThan(20);
  });

  describe('with a full queue', () => {
    /** Starts `count` hashes at once; the first HASH_CONCURRENCY take the hashing threads. */
    function flood(hasher: PasswordHasher, count: number) {
      return Promise.allSettled(Array.from({ length: count }, () => hasher.hash(PASSWORD)));
    }

    beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
    afterEach(() => jest.restoreAllMocks());

    it('refuses what neither a thread nor the queue takes with 503 and a Retry-After of at least 1s', async () => {
      const busy = new PasswordHasher({ passwordHashQueueLimit: 1 }, OWASP_PASSWORD_HASH_COST);

      const results = await flood(busy, HASH_CONCURRENCY + 1 + 3);

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(HASH_CONCURRENCY + 1);
      const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      expect(refusals).toHaveLength(3);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(ServiceBusyException);
        expect((refusal as ServiceBusyException).getStatus()).toBe(HttpStatus.SERVICE_UNAVAILABLE);
        expect(Number.isInteger((refusal as ServiceBusyException).retryAfterSeconds)).toBe(true);
        expect((refusal as ServiceBusyException).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      }
    });

    // A refused check is not a wrong password: answering false would count as a failed login.
    it('answers a verification it cannot queue with 503, not with false', async () => {
      const busy = new PasswordHasher({ passwordHashQueueLimit: 0 }, OWASP_PASSWORD_HASH_COST);
      const hash = await busy.hash(PASSWORD);

      const running = flood(busy, HASH_CONCURRENCY);
      await expect(busy.verify(hash, PASSWORD)).rejects.toBeInstanceOf(ServiceBusyException);
      await running;
    });

    it('takes work again once the queue has drained', async () => {
      const busy = new PasswordHasher({ passwordHashQueueLimit: 0 }, OWASP_PASSWORD_HASH_COST);
      await flood(busy, HASH_CONCURRENCY + 2);

      await expect(busy.hash(PASSWORD)).resolves.toMatch(/^\$argon2id\$/);
    });

    it('makes the dummy hash again when its first attempt was refused', async () => {
      const busy = new PasswordHasher({ passwordHashQueueLimit: 0 }, OWASP_PASSWORD_HASH_COST);
      const running = flood(busy, HASH_CONCURRENCY);
      await expect(busy.verifyAgainstDummy(PASSWORD)).rejects.toBeInstanceOf(ServiceBusyException);
      await running;

      await expect(busy.verifyAgainstDummy(PASSWORD)).resolves.toBe(false);
    });
  });
});
