import { Injectable, Logger } from '@nestjs/common';

export type AuditEvent =
  | 'login_succeeded'
  | 'login_failed'
  | 'logout'
  | 'logout_all'
  | 'refresh_reuse_detected'
  | 'password_changed'
  | 'session_revoked'
  | 'account_deleted';

export interface AuditDetails {
  userId?: string;
  sessionId?: string;
  /** Never a password or a token: names, ids and counts only. */
  [detail: string]: string | number | boolean | undefined;
}

/**
 * One structured line per security-relevant event, `{"audit": "<event>", userId, sessionId, ...}`,
 * carrying the request id of the request it happened in (the logger's mixin adds it: request-logging.ts).
 */
@Injectable()
export class AuditLogger {
  private readonly logger = new Logger('Audit');

  record(event: AuditEvent, details: AuditDetails = {}): void {
    const line = { audit: event, ...details };
    if (event === 'refresh_reuse_detected' || event === 'login_failed') this.logger.warn(line);
    else this.logger.log(line);
  }
}
