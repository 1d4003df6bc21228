import { TEST_ENV } from './test-env';

/** The adapter this Jest project runs the e2e suites on (express unless the project says otherwise). */
export function testHttpAdapter(): 'express' | 'fastify' {
  return process.env[TEST_ENV.httpAdapter] === 'fastify' ? 'fastify' : 'express';
}
