import { Injectable, type OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ConcurrencyGate } from './concurrency-gate';

/**
 * OWASP Password Storage Cheat Sheet, argon2id first option: 19 MiB, 2 iterations, 1 lane.
 * argon2 hashes on libuv's thread pool, so the event loop keeps serving requests meanwhile.
 */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * Hashes run on libuv's pool (4 threads), each taking a core for its whole duration. A login storm
 * would then occupy every core and starve the event loop: on 2 cores, the p99 of /api/auth/verify grew
 * from about 18 ms to over a second (npm run bench). So at most cores - 1 hashes (at least one) run at
 * once, and the event loop keeps a core; the others queue here, in arrival order.
 */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);

@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly gate = new ConcurrencyGate(HASH_CONCURRENCY);

  /**
   * A real hash of a random password, made with the same parameters as every stored hash: checking a
   * login for an unknown username against it costs the same as a wrong password for a real one.
   */
  private dummyHash?: Promise<string>;

  onModuleInit(): void {
    void this.getDummyHash();
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await this.gate.run(() => argon2.verify(hash, password));
    } catch {
      // A malformed stored hash is a failed check, never a 500 that tells the account exists.
      return false;
    }
  }

  /** Spends the time of one verification and always fails. */
  async verifyAgainstDummy(password: string): Promise<false> {
    await this.verify(await this.getDummyHash(), password);
    return false;
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url'));
    return this.dummyHash;
  }
}
