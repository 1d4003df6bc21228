import { OWASP_PASSWORD_HASH_COST, type PasswordHashCost } from '../../src/crypto/password-hash-cost';

/**
 * argon2id at its least cost (1 MiB, 1 iteration): for suites whose subject is not the hash, where the
 * production cost only spends CPU time. The production cost is asserted by the hasher's and CryptoModule's specs, used
 * by every spawned server and the benchmark, and kept by the suites that call
 * hashPasswordsAtProductionCost.
 */
const LEAST_PASSWORD_HASH_COST: PasswordHashCost = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

let productionCost = false;

/**
 * For a suite whose property depends on how long a hash takes (response timing, the hashing queue,
 * races around a login in flight): every app the file creates hashes at the production cost. Jest
 * loads this module afresh for each test file, so the choice stays with the file that makes it.
 */
export function hashPasswordsAtProductionCost(): void {
  productionCost = true;
}

export function passwordHashCostForTests(): PasswordHashCost {
  return productionCost ? OWASP_PASSWORD_HASH_COST : LEAST_PASSWORD_HASH_COST;
}
