import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet's defaults, except upgrade-insecure-requests: it would make the explorer at /docs load its
 * scripts over https:// when the service is reached over plain http (development, a private network).
 */
export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
};

/**
 * The headers Helmet writes with HELMET_OPTIONS (X-Content-Type-Options: nosniff among them). Without
 * nonces or per-request directives they are the same for every response, so they are taken once from
 * Helmet itself and written by server-responses.ts on every response of either adapter, including the
 * ones the Node.js server writes without a framework.
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = headersWrittenBy(helmet(HELMET_OPTIONS));

function headersWrittenBy(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void,
): Array<[string, string]> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  middleware({ headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (err) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
  });
  return [...headers];
}
