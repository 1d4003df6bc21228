import { Logger } from '@nestjs/common';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const ACCESS_TOKEN_ALGORITHMS = ['HS256', 'EdDSA', 'ES256'] as const;
export type AccessTokenAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];
export type AsymmetricAlgorithm = Exclude<AccessTokenAlgorithm, 'HS256'>;

/**
 * How access tokens are signed. HS256 with ACCESS_TOKEN_SECRET (the default), or a private key whose
 * public half, with the retired keys' public halves, other services fetch from the JWKS.
 */
export type AccessTokenSigning =
  | { algorithm: 'HS256' }
  | {
      algorithm: AsymmetricAlgorithm;
      /** The `iss` claim of every access token, which services verifying them require. */
      issuer: string;
      privateKey: KeyObject;
      /** Public keys of retired signing keys: their tokens verify until they expire. */
      previousKeys: KeyObject[];
      /** True when the key was generated for this process because none was configured. */
      keyGenerated: boolean;
    };

export interface AccessTokenSigningInput {
  algorithm?: string;
  privateKey?: string;
  previousKeys?: string;
  issuer?: string;
  production: boolean;
}

export const DEFAULT_ISSUER = 'secure-logout-jwt';
const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** The algorithm a key signs with, or undefined for a key type no asymmetric mode uses. */
export function algorithmOfKey(key: KeyObject): AsymmetricAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

/** PEM text as environment variables carry it: real newlines, or `\n` escapes on one line. */
function pemBlocks(text: string): string[] {
  return [...text.replace(/\\n/g, '\n').matchAll(PEM_BLOCK)].map((match) => match[0]);
}

function keyFromPem(pem: string): KeyObject | undefined {
  try {
    return pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    return undefined;
  }
}

const generatedKeys = new Map<AsymmetricAlgorithm, KeyObject>();

/** A development key lives as long as the process: every app instance in it shares it. */
function developmentKey(algorithm: AsymmetricAlgorithm): KeyObject {
  let key = generatedKeys.get(algorithm);
  if (!key) {
    key =
      algorithm === 'EdDSA'
        ? generateKeyPairSync('ed25519').privateKey
        : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    generatedKeys.set(algorithm, key);
    new Logger('Config').warn(
      `ACCESS_TOKEN_PRIVATE_KEY is not set: using a random ${algorithm} key for this process only ` +
        '(tokens die with it, and the JWKS changes on every start). Set it in production.',
    );
  }
  return key;
}

/** Parses the signing variables; `problems` lists what is wrong, in the words of the variables. */
export function parseAccessTokenSigning(input: AccessTokenSigningInput): {
  signing: AccessTokenSigning;
  problems: string[];
} {
  const problems: string[] = [];
  const algorithm =
    input.algorithm === undefined
      ? 'HS256'
      : ACCESS_TOKEN_ALGORITHMS.find((name) => name.toLowerCase() === input.algorithm?.toLowerCase());
  if (algorithm === undefined) {
    problems.push(
      `ACCESS_TOKEN_ALGORITHM must be one of ${ACCESS_TOKEN_ALGORITHMS.join(', ')} (got "${input.algorithm}")`,
    );
  }
  if (algorithm === undefined) return { signing: { algorithm: 'HS256' }, problems };
  if (algorithm === 'HS256') {
    // A key set beside HS256 would be ignored: a deployment that meant to publish keys would not.
    if (input.privateKey !== undefined)
      problems.push('ACCESS_TOKEN_PRIVATE_KEY is only used with ACCESS_TOKEN_ALGORITHM=EdDSA or ES256');
    if (input.previousKeys !== undefined)
      problems.push('ACCESS_TOKEN_PREVIOUS_KEYS is only used with ACCESS_TOKEN_ALGORITHM=EdDSA or ES256');
    return { signing: { algorithm: 'HS256' }, problems };
  }

  let privateKey: KeyObject | undefined;
  let keyGenerated = false;
  if (input.privateKey === undefined) {
    if (input.production)
      problems.push(
        `ACCESS_TOKEN_PRIVATE_KEY is required when ACCESS_TOKEN_ALGORITHM=${algorithm} and NODE_ENV=production`,
      );
    else {
      privateKey = developmentKey(algorithm);
      keyGenerated = true;
    }
  } else {
    const blocks = pemBlocks(input.privateKey);
    const key = blocks.length === 1 ? keyFromPem(blocks[0]) : undefined;
    if (!key || key.type !== 'private') {
      problems.push('ACCESS_TOKEN_PRIVATE_KEY must be one PEM private key (PKCS#8, "-----BEGIN PRIVATE KEY-----")');
    } else if (algorithmOfKey(key) !== algorithm) {
      problems.push(
        `ACCESS_TOKEN_PRIVATE_KEY must be ${algorithm === 'EdDSA' ? 'an Ed25519' : 'a P-256 (prime256v1) EC'} key for ACCESS_TOKEN_ALGORITHM=${algorithm}`,
      );
    } else {
      privateKey = key;
    }
  }

  const previousKeys: KeyObject[] = [];
  if (input.previousKeys !== undefined) {
    const blocks = pemBlocks(input.previousKeys);
    if (blocks.length === 0) problems.push('ACCESS_TOKEN_PREVIOUS_KEYS must hold PEM keys (public or private)');
    for (const [index, block] of blocks.entries()) {
      const key = keyFromPem(block);
      if (!key || algorithmOfKey(key) === undefined) {
        problems.push(`ACCESS_TOKEN_PREVIOUS_KEYS: key ${index + 1} is not an Ed25519 or P-256 PEM key`);
      } else if (algorithmOfKey(key) !== algorithm) {
        // Only the configured algorithm is accepted: a retired key of another one would verify tokens of it.
        problems.push(
          `ACCESS_TOKEN_PREVIOUS_KEYS: key ${index + 1} is not a key of ACCESS_TOKEN_ALGORITHM=${algorithm}`,
        );
      } else {
        previousKeys.push(key.type === 'private' ? createPublicKey(key) : key);
      }
    }
  }

  const issuer = input.issuer ?? DEFAULT_ISSUER;
  // With problems the process stops before listening; the placeholder is never used.
  if (!privateKey) return { signing: { algorithm: 'HS256' }, problems };
  return { signing: { algorithm, issuer, privateKey, previousKeys, keyGenerated }, problems };
}
