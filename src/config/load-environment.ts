import { parseEnvironment, type Environment } from './environment';

let parsed: Environment | undefined;

/**
 * Reads and validates `process.env` once per process; the only reader of it in the application.
 * Every feature's settings derive from this one parse (tests give apps their settings as providers).
 */
export function loadEnvironment(): Environment {
  parsed ??= parseEnvironment(process.env);
  return parsed;
}
