import { describeForwardAuthThroughProxy } from './support/forward-auth-suite';

/**
 * deploy/Caddyfile run by a real Caddy in front of two instances: see forward-auth-suite for what
 * it must guarantee.
 */

jest.setTimeout(120_000);

describeForwardAuthThroughProxy('caddy');
