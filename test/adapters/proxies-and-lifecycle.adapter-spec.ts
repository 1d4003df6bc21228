/** Suites run on both adapters, several to a file: see http-edges.adapter-spec.ts. */
import '../proxies/nginx.e2e-suite';
import '../security/headers-and-proxy.e2e-suite';
import '../security/forward-auth.e2e-suite';
import '../security/contract-edges.e2e-suite';
import '../faults/graceful-shutdown.e2e-suite';

jest.setTimeout(120_000);
