import { Injectable } from '@nestjs/common';
import { createHash, createHmac, createSecretKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The project's one home for digests, MACs and random identifiers. */
@Injectable()
export class TokenCrypto {
  /** SHA-256 digest, used to store high-entropy tokens: they need no salt or slow hash. */
  digest(value: string): string {
    return createHash('sha256').update(value).digest('base64url');
  }

  hmac(key: string, message: string): string {
    return createHmac('sha256', key).update(message).digest('base64url');
  }

  equals(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
  }

  /**
   * An HMAC key object. jsonwebtoken, given a string secret, first tries to parse it as a PEM key on
   * every verification; a KeyObject skips that, which makes each check several times cheaper.
   */
  secretKey(secret: string): KeyObject {
    return createSecretKey(Buffer.from(secret, 'utf8'));
  }

  randomId(): string {
    return randomUUID();
  }
}
