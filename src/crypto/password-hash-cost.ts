/** The argon2id cost every new password hash is made with (a stored hash carries its own). */
export interface PasswordHashCost {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id first option: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_PASSWORD_HASH_COST: PasswordHashCost = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Injection token of the cost. CryptoModule provides the OWASP cost and reads no setting for it, so no
 * deployment can lower it by accident; a test module may override it (see test/support/test-app.ts).
 */
export const PASSWORD_HASH_COST = Symbol('PASSWORD_HASH_COST');
