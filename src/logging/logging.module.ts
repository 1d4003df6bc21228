import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
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
        return {
          // The options of the one pino logger; requests are logged by installRequestLogging (see
          // request-logging.ts), not by a middleware: no route gets pino-http's per-request child logger.
          pinoHttp: {
            level: config.level,
            // `req` and `res` are logged as request-logging.ts describes them: pino-http's serializers
            // would read them as Node.js objects (a plain { statusCode } has no headersSent: null).
            wrapSerializers: false,
            redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
            mixin: requestLogFields,
            stream: config.file ? pino.destination({ dest: config.file, sync: true }) : undefined,
          },
          forRoutes: [],
        };
      },
    }),
  ],
  providers: [AuditLogger],
  exports: [AuditLogger],
})
export class LoggingModule {}
