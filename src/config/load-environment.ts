import { parseEnvironment, type Environment } from './environment';

/** Reads and validates `process.env`; the only reader of it in the application. */
export function loadEnvironment(): Environment {
  return parseEnvironment(process.env);
}
