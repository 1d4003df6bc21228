/** Attack suites that hash at the least cost, several to a file: see test/session-state.e2e-spec.ts. */
// First: nestjs-pino writes what Nest's Logger is given (the audit lines) with the logger of the first
// app built in the process, so the log-correlation suite's app must be the file's first.
import './log-correlation.e2e-suite';
import './credentials.e2e-suite';
import './token-forgery.e2e-suite';
import './token-forgery-asymmetric.e2e-suite';
import './brute-force.e2e-suite';
import './redis-write-faults.e2e-suite';

jest.setTimeout(90_000);
