import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * A 503 for work this instance refuses to queue any longer (e.g. password hashing under a flood); the
 * exception filter writes `retryAfterSeconds` as Retry-After.
 */
export class ServiceBusyException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Server busy, try again shortly',
  ) {
    super(message, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
