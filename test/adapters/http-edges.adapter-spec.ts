/**
 * Suites run on both adapters, several to a file (jest.config.js, ADAPTER_SUITES): each Jest file loads
 * the application's modules afresh. Every suite builds its own apps in its own describe blocks, so
 * running them one after the other in one file changes nothing they assert.
 */
import '../security/csrf-cors.e2e-suite';
import '../security/resource-limits.e2e-suite';
import '../security/malformed-requests.e2e-suite';
import '../errors-and-validation.e2e-suite';

// The longest any of them sets for its own file: each file's call replaced the previous one's.
jest.setTimeout(120_000);
