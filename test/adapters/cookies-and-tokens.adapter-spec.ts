/** Suites run on both adapters, several to a file: see http-edges.adapter-spec.ts. */
// First: nestjs-pino writes what Nest's Logger is given (the audit lines) with the logger of the first
// app built in the process, so the logging suite's app must be the file's first.
import '../security/logging.e2e-suite';
import '../security/cookie-tossing.e2e-suite';
import '../security/cookie-attributes.e2e-suite';
import '../security/token-presentation.e2e-suite';
import '../auth-flow.e2e-suite';
import '../decorators/decorators.e2e-suite';

jest.setTimeout(120_000);
