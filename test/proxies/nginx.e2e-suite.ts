import { describeForwardAuthThroughProxy } from './support/forward-auth-suite';

/**
 * deploy/nginx.conf run by a real nginx in front of two instances: see forward-auth-suite for what
 * it must guarantee.
 */

jest.setTimeout(120_000);

describeForwardAuthThroughProxy('nginx');
