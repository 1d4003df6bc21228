import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A web origin the attacker controls, on loopback: it answers every request with the attacker's key
 * set and records it. Tokens whose `jku` or `x5u` point here show whether the verifier follows them
 * (RFC 8725 section 3.10: a fetch it is told to make is a server-side request forgery as well).
 */
export interface AttackerOrigin {
  url(path: string): string;
  /** `METHOD path` of every request received, in order. */
  readonly requests: string[];
}

/** Listens in beforeAll and closes in afterAll. */
export function attackerOrigin(keySet: () => object): AttackerOrigin {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(keySet()));
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: (path) => `${base}${path}`, requests };
}
