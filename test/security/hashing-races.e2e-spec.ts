/**
 * The suites whose property depends on how long a password hash takes, several to a file (see
 * test/session-state.e2e-spec.ts): each of them hashes at the production cost for every app of the file.
 */
import './credential-races.e2e-suite';
import './throttle-races.e2e-suite';
import './enumeration.e2e-suite';
import './hashing-flood.e2e-suite';

jest.setTimeout(180_000);
