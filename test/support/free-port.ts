import { createServer } from 'node:net';

const HOST = '127.0.0.1';
/**
 * Below the range the kernel hands out to port-0 listeners and to outgoing connections (32768 and up
 * on Linux): an in-process app of another suite listening on port 0, or a client connection, cannot
 * take a port chosen here before the server it is meant for binds it.
 */
const FIXED_PORTS = { from: 20_000, to: 30_000 };

/** A free loopback port, picked at random below the ephemeral range. */
export async function findFreePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** `count` distinct free loopback ports, picked at random below the ephemeral range. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > 10_000) throw new Error(`no ${count} free ports between ${FIXED_PORTS.from} and ${FIXED_PORTS.to}`);
    const port = FIXED_PORTS.from + Math.floor(Math.random() * (FIXED_PORTS.to - FIXED_PORTS.from));
    if (!ports.has(port) && (await isFree(port))) ports.add(port);
  }
  return [...ports];
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, HOST, () => server.close(() => resolveFree(true)));
  });
}
