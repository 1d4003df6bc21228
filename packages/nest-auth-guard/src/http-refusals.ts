import { ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';

export const ACCESS_TOKEN_EXPIRED = 'Access token expired';

/**
 * Sets a response header on Express (`setHeader`) and Fastify (`header`) alike: the guard throws, and
 * the exception filter that writes the body keeps the headers already set.
 */
export function setResponseHeader(response: unknown, name: string, value: string): void {
  const target = response as {
    header?: (name: string, value: string) => unknown;
    setHeader?: (name: string, value: string) => unknown;
  } | null;
  if (typeof target?.header === 'function') target.header(name, value);
  else if (typeof target?.setHeader === 'function') target.setHeader(name, value);
}

/**
 * 401 with the RFC 6750 challenge: `error="invalid_token"` only when a token was presented, a bare
 * `Bearer` when the request carried none.
 */
export function unauthorized(response: unknown, tokenPresented: boolean, message = 'Unauthorized') {
  setResponseHeader(response, 'WWW-Authenticate', tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer');
  return new UnauthorizedException({ statusCode: 401, message, error: 'Unauthorized' });
}

/** 503: the token may well be good, but the guard cannot currently tell whether it is revoked or whose key signed it. */
export function serviceUnavailable(response: unknown) {
  setResponseHeader(response, 'Retry-After', '1');
  return new ServiceUnavailableException({
    statusCode: 503,
    message: 'Service Unavailable',
    error: 'Service Unavailable',
  });
}
