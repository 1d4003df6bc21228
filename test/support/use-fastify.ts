import { TEST_ENV } from './test-env';

// setupFiles of the e2e-fastify Jest project: the same suites, on the Fastify adapter.
process.env[TEST_ENV.httpAdapter] = 'fastify';
