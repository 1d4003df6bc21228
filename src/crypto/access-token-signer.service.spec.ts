import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import type { AccessTokenSigning } from '../config/access-token-signing';
import { AccessTokenSigner } from './access-token-signer.service';

const CLAIMS = { sub: '6650f0c2a1b2c3d4e5f60718', sid: '6650f0c2a1b2c3d4e5f60719', roles: ['user'], iat: 1, exp: 2 };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function signerWith(signing: AccessTokenSigning): Promise<AccessTokenSigner> {
  const sut = new AccessTokenSigner({ passwordHashQueueLimit: 1, accessTokenSigning: signing });
  await sut.onModuleInit();
  return sut;
}

const kidOf = async (key: KeyObject) =>
  calculateJwkThumbprint(await exportJWK(key.type === 'private' ? createPublicKey(key) : key));

describe(AccessTokenSigner.name, () => {
  const active = generateKeyPairSync('ed25519');
  const retired = generateKeyPairSync('ed25519');
  // Refused by the configuration parser; handed over here to check the signer's own allow-list.
  const otherAlgorithm = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ed25519');
  let sut: AccessTokenSigner;

  beforeAll(async () => {
    sut = await signerWith({
      algorithm: 'EdDSA',
      issuer: 'https://auth.example',
      privateKey: active.privateKey,
      previousKeys: [retired.publicKey, otherAlgorithm.publicKey],
      keyGenerated: false,
    });
  });

  it('signs with the active key, naming it by its RFC 7638 thumbprint, and verifies what it signed', async () => {
    const token = await sut.sign(CLAIMS);
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'EdDSA', kid: await kidOf(active.privateKey), typ: 'JWT' });
    await expect(sut.verifySignature(token)).resolves.toEqual(CLAIMS);
  });

  it('publishes the active key first, then the retired one, with no private member', async () => {
    const set = sut.publicKeySet();
    expect(set?.keys.map(({ kid, alg, use, kty, crv }) => ({ kid, alg, use, kty, crv }))).toEqual([
      { kid: await kidOf(active.privateKey), alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519' },
      { kid: await kidOf(retired.publicKey), alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519' },
      { kid: await kidOf(otherAlgorithm.publicKey), alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' },
    ]);
    expect(JSON.stringify(set)).not.toMatch(/"d"/);
  });

  it('verifies a token of a retired key', async () => {
    const token = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: 'EdDSA', kid: await kidOf(retired.publicKey) })
      .sign(retired.privateKey);
    await expect(sut.verifySignature(token)).resolves.toEqual(CLAIMS);
  });

  it('refuses a token of another algorithm than the configured one, even from a key it holds', async () => {
    const token = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: 'ES256', kid: await kidOf(otherAlgorithm.publicKey) })
      .sign(otherAlgorithm.privateKey);
    await expect(sut.verifySignature(token)).rejects.toThrow('invalid signature');
  });

  it.each([
    ['a key that is not ours, with its own kid', async () => ({ alg: 'EdDSA', kid: await kidOf(stranger.privateKey) })],
    ['a key that is not ours, under our kid', async () => ({ alg: 'EdDSA', kid: await kidOf(active.privateKey) })],
    ['a key that is not ours, with no kid', async () => ({ alg: 'EdDSA' })],
  ])('refuses a token signed by %s', async (_case, header) => {
    const token = await new SignJWT(CLAIMS).setProtectedHeader(await header()).sign(stranger.privateKey);
    await expect(sut.verifySignature(token)).rejects.toThrow('invalid signature');
  });

  it('refuses a token of our active key with no kid: the key is chosen by kid only', async () => {
    const token = await new SignJWT(CLAIMS).setProtectedHeader({ alg: 'EdDSA' }).sign(active.privateKey);
    await expect(sut.verifySignature(token)).rejects.toThrow('invalid signature');
  });

  it('refuses HS256 made with our public key as the secret (algorithm confusion), under our kid', async () => {
    const kid = await kidOf(active.privateKey);
    const pem = createPublicKey(active.privateKey).export({ format: 'pem', type: 'spki' });
    const input = `${b64({ alg: 'HS256', kid })}.${b64(CLAIMS)}`;
    const token = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    await expect(sut.verifySignature(token)).rejects.toThrow('invalid signature');
  });

  it('refuses alg "none" and an ES256 header on our Ed25519 kid', async () => {
    const kid = await kidOf(active.privateKey);
    await expect(sut.verifySignature(`${b64({ alg: 'none', kid })}.${b64(CLAIMS)}.`)).rejects.toThrow();
    const signed = (await sut.sign(CLAIMS)).split('.');
    await expect(sut.verifySignature(`${b64({ alg: 'ES256', kid })}.${signed[1]}.${signed[2]}`)).rejects.toThrow();
  });

  it('refuses a correctly signed payload that is not JSON', async () => {
    const token = await sut.sign(CLAIMS);
    const [, , signature] = token.split('.');
    await expect(sut.verifySignature(`${token.split('.')[0]}.bm90IGpzb24.${signature}`)).rejects.toThrow();
  });

  it('has nothing to publish or sign in HS256 mode', async () => {
    const hs256 = await signerWith({ algorithm: 'HS256' });
    expect(hs256.asymmetric).toBe(false);
    expect(hs256.publicKeySet()).toBeUndefined();
    expect(hs256.issuer).toBeUndefined();
    await expect(hs256.sign(CLAIMS)).rejects.toThrow();
  });
});
