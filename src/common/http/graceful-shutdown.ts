import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Nothing in flight for this long: the burst the signal interrupted is over. */
const QUIET_PERIOD_MS = 250;

/**
 * On SIGTERM/SIGINT: answer every request in flight, then close the application (database, Redis)
 * and exit 0, within `drainTimeoutMs` plus the close.
 *
 * Why not just app.close(): it calls http.Server#close(), which stops listening at once. Connections
 * still waiting in the kernel's accept queue are then reset, and on Node 20 sockets that have not
 * delivered their request yet are reaped as idle (measured: of 24 logins sent 50 ms before SIGTERM,
 * up to 20 ended in ECONNRESET). So the server keeps accepting while it drains, every response asks
 * the client to close its connection, and the listener and the app close once nothing has been in
 * flight for a short quiet period.
 */
export function installGracefulShutdown(
  app: INestApplication,
  logger: LoggerService,
  options: { drainTimeoutMs?: number; beforeDrain?: () => void } = {},
): void {
  const drainTimeoutMs = options.drainTimeoutMs ?? 8000;
  const server = app.getHttpServer() as Server;
  let inFlight = 0;
  let lastActivity = 0;
  let draining = false;

  server.on('request', (_req, res) => {
    inFlight += 1;
    lastActivity = Date.now();
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight -= 1;
      lastActivity = Date.now();
    });
  });

  const shutdown = async (signal: string) => {
    logger.log(`${signal} received: finishing ${inFlight} request(s) in flight, then closing`);
    draining = true;
    // Streams that never end by themselves (the revocation feed) are ended first: their clients reconnect.
    options.beforeDrain?.();
    const deadline = Date.now() + drainTimeoutMs;
    while (Date.now() < deadline && (inFlight > 0 || Date.now() - lastActivity < QUIET_PERIOD_MS)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Stop accepting without reaping sockets: app.close() below closes what is left, all idle now.
    NetServer.prototype.close.call(server);
    await app.close();
  };

  for (const signal of SIGNALS) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`Shutdown failed: ${String(error)}`);
          process.exit(1);
        },
      );
    });
  }
}
