import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, exportJWK, SignJWT, type JWK } from 'jose';
import { algorithmOfKey, type AsymmetricAlgorithm } from '../config/access-token-signing';
import { cryptoConfig, type CryptoConfig } from '../config';

/** A public key of the JWKS: RFC 7517 members, with the key id and algorithm services select it by. */
export type PublicJwk = JWK & { kid: string; alg: AsymmetricAlgorithm; use: 'sig' };

interface VerificationKey {
  key: KeyObject;
  algorithm: AsymmetricAlgorithm;
}

/** Why a token's signature was not accepted; the guard answers 401 whatever the reason. */
export class AccessTokenSignatureError extends Error {
  override readonly name = 'JsonWebTokenError';
}

/**
 * Signs and verifies access tokens in the asymmetric modes (ACCESS_TOKEN_ALGORITHM=EdDSA or ES256), and
 * publishes the public keys. Each key's id is its RFC 7638 thumbprint: it cannot disagree with the key,
 * and rotating keys needs no naming scheme. HS256 stays with @nestjs/jwt (AccessTokenService), which
 * cannot sign EdDSA.
 */
@Injectable()
export class AccessTokenSigner implements OnModuleInit {
  private readonly signing: CryptoConfig['accessTokenSigning'];
  private readonly verificationKeys = new Map<string, VerificationKey>();
  private activeKeyId = '';
  private publicKeys: PublicJwk[] = [];

  constructor(@Inject(cryptoConfig.KEY) config: CryptoConfig) {
    this.signing = config.accessTokenSigning;
  }

  async onModuleInit(): Promise<void> {
    if (this.signing.algorithm === 'HS256') return;
    const active = createPublicKey(this.signing.privateKey);
    for (const [index, key] of [active, ...this.signing.previousKeys].entries()) {
      const algorithm = algorithmOfKey(key);
      if (!algorithm) continue;
      const jwk = await exportJWK(key);
      const kid = await calculateJwkThumbprint(jwk);
      if (index === 0) this.activeKeyId = kid;
      if (this.verificationKeys.has(kid)) continue;
      this.verificationKeys.set(kid, { key, algorithm });
      this.publicKeys.push({ ...jwk, kid, alg: algorithm, use: 'sig' });
    }
  }

  /** True in the EdDSA and ES256 modes. */
  get asymmetric(): boolean {
    return this.signing.algorithm !== 'HS256';
  }

  /** The `iss` of asymmetric tokens; undefined in HS256 mode, whose tokens keep their claims as they were. */
  get issuer(): string | undefined {
    return this.signing.algorithm === 'HS256' ? undefined : this.signing.issuer;
  }

  /** The JWK set to publish (the active key first); undefined in HS256 mode, which has nothing public. */
  publicKeySet(): { keys: PublicJwk[] } | undefined {
    return this.asymmetric ? { keys: this.publicKeys } : undefined;
  }

  async sign(claims: Record<string, unknown>): Promise<string> {
    if (this.signing.algorithm === 'HS256') throw new Error('AccessTokenSigner signs in the asymmetric modes only');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.signing.algorithm, kid: this.activeKeyId, typ: 'JWT' })
      .sign(this.signing.privateKey);
  }

  /**
   * The payload of a token whose signature one of our keys verifies, under that key's own algorithm.
   * The header only names the key (`kid`): `jwk`, `jku` and `x5u` are never followed, and `alg` must
   * be the key's. Claims and expiry are the caller's to check.
   */
  async verifySignature(token: string): Promise<unknown> {
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(
        token,
        (header) => {
          const found = typeof header.kid === 'string' ? this.verificationKeys.get(header.kid) : undefined;
          if (!found || header.alg !== found.algorithm) throw new AccessTokenSignatureError('unknown key');
          return found.key;
        },
        { algorithms: this.signing.algorithm === 'HS256' ? [] : [this.signing.algorithm] },
      ));
    } catch {
      throw new AccessTokenSignatureError('invalid signature');
    }
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as unknown;
    } catch {
      throw new AccessTokenSignatureError('invalid payload');
    }
  }
}
