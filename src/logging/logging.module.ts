import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { loggingConfig, type LoggingConfig } from '../config';
import { AuditLogger } from './audit-logger.service';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** A client's own request id is kept when it is this plain; anything else is replaced. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Fields that must never reach a log line, wherever they appear in what we log ourselves. Requests
 * and responses are serialised field by field below (no headers, no bodies, no query string), so
 * Authorization, cookies and tokens do not get there in the first place.
 */
const REDACTED_PATHS = [
  'password',
  'currentPassword',
  'newPassword',
  'accessToken',
  'refreshToken',
  'token',
  'authorization',
  'cookie',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.accessToken',
  '*.refreshToken',
  '*.token',
  '*.authorization',
  '*.cookie',
];

/** The client's own request id when it is plain enough to log, a new UUID otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  return typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
}

/**
 * pino-http's request id when the request has none yet. Every request that reaches the HTTP server
 * already has one (`req.id`, set with the X-Request-Id header in server-responses.ts, and on Fastify
 * taken as Fastify's own): this serves an app whose server was not set up that way.
 */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdOf(req);
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The path only: a query string may carry anything, tokens included (they are refused, not logged). */
function pathOf(url: string | undefined): string {
  if (!url) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : `${url.slice(0, query)}?[redacted]`;
}

@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [loggingConfig.KEY],
      useFactory: (config: LoggingConfig) => {
        if (config.file) mkdirSync(dirname(config.file), { recursive: true });
        return {
          pinoHttp: {
            level: config.level,
            genReqId: requestId,
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
            serializers: {
              req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
                id: req.id,
                method: req.method,
                url: pathOf(req.url),
                remoteAddress: req.remoteAddress,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            // Who made the request, once the guard knows: on the line that closes the request.
            customProps: (req: IncomingMessage) => {
              const user = (req as IncomingMessage & { user?: AuthenticatedUser }).user;
              return user ? { userId: user.userId, sessionId: user.sessionId } : {};
            },
            stream: config.file ? pino.destination({ dest: config.file, sync: true }) : undefined,
          },
        };
      },
    }),
  ],
  providers: [AuditLogger],
  exports: [AuditLogger],
})
export class LoggingModule {}
