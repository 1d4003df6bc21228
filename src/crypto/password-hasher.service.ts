import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ServiceBusyException } from '../common/exceptions/service-busy.exception';
import { cryptoConfig, type CryptoConfig } from '../config';
import { ConcurrencyGate, GateFullError } from './concurrency-gate';
import { PASSWORD_HASH_COST, type PasswordHashCost } from './password-hash-cost';

/**
 * Hashes run on libuv's pool (4 threads), each taking a core for its whole duration. A login storm
 * would then occupy every core and starve the event loop: on 2 cores, the p99 of /api/auth/verify grew
 * from about 18 ms to over a second (npm run bench). So at most cores - 1 hashes (at least one) run at
 * once, and the event loop keeps a core; the others queue here, in arrival order.
 */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);

/** A first guess at one hash's duration, until some have been timed. */
const INITIAL_HASH_MS = 50;

/**
 * argon2id hashes on libuv's thread pool, so the event loop keeps serving requests meanwhile.
 *
 * The queue in front of the hashing threads is bounded (PASSWORD_HASH_QUEUE_LIMIT): a flood of
 * password checks gets 503 + Retry-After once it is full, instead of making every login wait behind it.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly logger = new Logger(PasswordHasher.name);
  private readonly gate: ConcurrencyGate;
  /** Moving average of one hash's duration, for Retry-After. */
  private averageHashMs = INITIAL_HASH_MS;

  /**
   * A real hash of a random password, made with the same parameters as every stored hash: checking a
   * login for an unknown username against it costs the same as a wrong password for a real one.
   */
  private dummyHash?: Promise<string>;

  constructor(
    @Inject(cryptoConfig.KEY) config: Pick<CryptoConfig, 'passwordHashQueueLimit'>,
    @Inject(PASSWORD_HASH_COST) private readonly cost: PasswordHashCost,
  ) {
    this.gate = new ConcurrencyGate(HASH_CONCURRENCY, config.passwordHashQueueLimit);
  }

  onModuleInit(): void {
    void this.getDummyHash().catch(() => undefined);
  }

  hash(password: string): Promise<string> {
    return this.run(() => argon2.hash(password, { type: argon2.argon2id, ...this.cost }));
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await this.run(() => argon2.verify(hash, password));
    } catch (error) {
      if (error instanceof ServiceBusyException) throw error;
      // A malformed stored hash is a failed check, never a 500 that tells the account exists.
      return false;
    }
  }

  /** Runs a hash through the gate, or refuses it with 503 when the queue is full. */
  private async run<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(async () => {
        const started = performance.now();
        try {
          return await task();
        } finally {
          this.averageHashMs = 0.9 * this.averageHashMs + 0.1 * (performance.now() - started);
        }
      });
    } catch (error) {
      if (!(error instanceof GateFullError)) throw error;
      const drainMs = ((this.gate.queued + HASH_CONCURRENCY) * this.averageHashMs) / HASH_CONCURRENCY;
      const retryAfterSeconds = Math.max(1, Math.ceil(drainMs / 1000));
      this.logger.warn(
        `Password hashing queue full (${this.gate.queued} waiting): 503, Retry-After ${retryAfterSeconds}`,
      );
      throw new ServiceBusyException(retryAfterSeconds);
    }
  }

  /** Spends the time of one verification and always fails. */
  async verifyAgainstDummy(password: string): Promise<false> {
    await this.verify(await this.getDummyHash(), password);
    return false;
  }

  private getDummyHash(): Promise<string> {
    // Made again on the next call if this attempt was refused (a full queue).
    this.dummyHash ??= this.hash(randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }
}
