import { Global, Module } from '@nestjs/common';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { loggingConfig, type LoggingConfig } from '../config';
import { AuditLogger } from './audit-logger.service';
import { requestLogFields } from './request-logging';

/**
 * Fields that must never reach a log line, wherever they appear in what we log ourselves. Requests
 * and responses are described field by field (request-logging.ts: no headers, no bodies, no query
 * string), so Authorization, cookies and tokens do not get there in the first place.
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

@Global()
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [loggingConfig.KEY],
      useFactory: (config: LoggingConfig) => {
        if (config.file) mkdirSync(dirname(config.file), { recursive: true });
        // The one pino logger. Requests are logged by installRequestLogging (see request-logging.ts), not
        // by a middleware: no route gets pino-http's per-request child logger.
        const root = pino(
          {
            level: config.level,
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
            mixin: requestLogFields,
          },
          config.file
            ? pino.destination({ dest: config.file, sync: true })
            : config.pretty
              ? // Loaded only then: a worker thread turns each line into text (pino-pretty is a transport).
                pino.transport({
                  target: 'pino-pretty',
                  options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true },
                })
              : undefined,
        );
        // nestjs-pino 4 sets PinoLogger.root only when its middleware is configured (app.init()), but
        // configureApp hands it to installRequestLogging before that: it is set here, when the module is
        // created, and app.init() later replaces it with pino-http's child of it (same options and
        // destination). nestjs-pino 5 sets it itself, but requires Node.js 22.
        (PinoLogger as unknown as { root: Logger }).root = root;
        return {
          // pino-http wraps this logger (a child with the same options and destination) instead of
          // creating a second one. `req` and `res` are logged as request-logging.ts describes them:
          // pino-http's serializers would read them as Node.js objects (a plain { statusCode } has no
          // headersSent: null).
          pinoHttp: { logger: root, wrapSerializers: false },
          forRoutes: [],
        };
      },
    }),
  ],
  providers: [AuditLogger],
  exports: [AuditLogger],
})
export class LoggingModule {}
