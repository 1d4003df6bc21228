import { createHmac, randomUUID } from 'node:crypto';
import { testClock } from './test-clock';

/**
 * Hand-made JWTs for forgery tests: no JWT library, so the header, payload and signature are exactly
 * what the test says, including shapes a library would refuse to produce.
 */

export type JwtPart = Record<string, unknown>;

const HMAC_HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;
export type HmacAlgorithm = keyof typeof HMAC_HASH;

export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function hmacSignature(signingInput: string, secret: string, algorithm: HmacAlgorithm = 'HS256'): string {
  return createHmac(HMAC_HASH[algorithm], secret).update(signingInput).digest('base64url');
}

/** `header.payload.signature`, the signature an HMAC of the first two parts with `secret`. */
export function signJwt(header: JwtPart, payload: JwtPart, secret: string, algorithm: HmacAlgorithm = 'HS256'): string {
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  return `${signingInput}.${hmacSignature(signingInput, secret, algorithm)}`;
}

/** `header.payload.<signature as given>`: for `alg: none` and stripped or foreign signatures. */
export function unsignedJwt(header: JwtPart, payload: JwtPart, signature = ''): string {
  return `${base64UrlJson(header)}.${base64UrlJson(payload)}.${signature}`;
}

/** Replaces a token's payload and keeps its original header and signature. */
export function withTamperedPayload(token: string, change: (payload: JwtPart) => JwtPart): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JwtPart;
  return `${header}.${base64UrlJson(change(decoded))}.${signature}`;
}

/** Now on the apps' Clock (testClock), in which they check iat and exp: ahead of the machine's time. */
export const nowSeconds = (): number => Math.floor(testClock.now() / 1000);

/** The claims the server mints for a live session (sub, sid, jti, iat, exp, roles), valid for 15 minutes. */
export function accessClaims(sub: string, sid: string, overrides: JwtPart = {}): JwtPart {
  const iat = nowSeconds();
  return { sub, sid, roles: ['user'], jti: randomUUID(), iat, exp: iat + 900, ...overrides };
}

/** Claims without the named properties. */
export function withoutClaims(claims: JwtPart, ...names: string[]): JwtPart {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)));
}

export const HS256_HEADER: JwtPart = { alg: 'HS256', typ: 'JWT' };
