import { createHash, createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { testClock } from './test-clock';

/**
 * Hand-made JWTs for forgery tests: no JWT library, so the header, payload and signature are exactly
 * what the test says, including shapes a library would refuse to produce. HMAC (HS256/384/512) and the
 * two asymmetric algorithms the service can sign with (EdDSA with Ed25519, ES256 with P-256).
 */

export type JwtPart = Record<string, unknown>;

const HMAC_HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;
export type HmacAlgorithm = keyof typeof HMAC_HASH;

export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** `secret` may be bytes: algorithm confusion uses a public key's DER or raw bytes as the HMAC key. */
export function hmacSignature(
  signingInput: string,
  secret: string | Buffer,
  algorithm: HmacAlgorithm = 'HS256',
): string {
  return createHmac(HMAC_HASH[algorithm], secret).update(signingInput).digest('base64url');
}

/** `header.payload.signature`, the signature an HMAC of the first two parts with `secret`. */
export function signJwt(
  header: JwtPart,
  payload: JwtPart,
  secret: string | Buffer,
  algorithm: HmacAlgorithm = 'HS256',
): string {
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  return `${signingInput}.${hmacSignature(signingInput, secret, algorithm)}`;
}

export type AsymmetricAlgorithm = 'EdDSA' | 'ES256';

/** A key pair and the `kid` the service gives it (its RFC 7638 thumbprint). */
export interface SigningKey {
  alg: AsymmetricAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

export function newSigningKey(alg: AsymmetricAlgorithm): SigningKey {
  const { privateKey, publicKey } =
    alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { alg, privateKey, publicKey, kid: jwkThumbprint(publicKey) };
}

/**
 * RFC 7638: SHA-256 of the key's required JWK members, in lexicographic order and without whitespace.
 * Computed here rather than by jose, so that the service's own thumbprints are checked, not echoed.
 */
export function jwkThumbprint(publicKey: KeyObject): string {
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const members = kty === 'EC' ? { crv, kty, x, y } : { crv, kty, x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export const pkcs8Pem = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
export const spkiPem = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }).toString();

/**
 * The signature of `signingInput` with a private key, in its key's own algorithm: Ed25519, or ECDSA
 * P-256 with SHA-256 as JWS encodes it (r and s, 32 bytes each: RFC 7518 section 3.4), or DER-encoded
 * when asked (a form JWS forbids).
 */
export function keySignature(
  signingInput: string,
  privateKey: KeyObject,
  ecdsaEncoding: 'jws' | 'der' = 'jws',
): string {
  const data = Buffer.from(signingInput);
  const signature =
    privateKey.asymmetricKeyType === 'ed25519'
      ? sign(null, data, privateKey)
      : sign('sha256', data, { key: privateKey, dsaEncoding: ecdsaEncoding === 'jws' ? 'ieee-p1363' : 'der' });
  return signature.toString('base64url');
}

/** `header.payload.signature`, signed with a private key (whatever `header.alg` says). */
export function signJwtWithKey(header: JwtPart, payload: JwtPart, privateKey: KeyObject): string {
  const signingInput = `${base64UrlJson(header)}.${base64UrlJson(payload)}`;
  return `${signingInput}.${keySignature(signingInput, privateKey)}`;
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

export function jwtHeader(token: string): JwtPart {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as JwtPart;
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
