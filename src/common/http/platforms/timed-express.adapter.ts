import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { createServer } from 'node:http';

/**
 * Express with the HTTP server's timeouts set where Node allows it: at creation. A client gets
 * `requestTimeoutMs` to send its headers and whole request (slowloris), and expired connections are
 * looked for every second instead of Node's default 30 s.
 */
export class TimedExpressAdapter extends ExpressAdapter {
  constructor(private readonly requestTimeoutMs: number) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections) {
      super.initHttpServer(options);
      return;
    }
    this.httpServer = createServer(
      {
        requestTimeout: this.requestTimeoutMs,
        headersTimeout: this.requestTimeoutMs,
        connectionsCheckingInterval: 1000,
      },
      this.getInstance(),
    );
  }
}
