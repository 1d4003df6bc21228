import { generateKeyPairSync } from 'node:crypto';
import { DEFAULT_ISSUER, parseAccessTokenSigning, type AccessTokenSigningInput } from './access-token-signing';

const pkcs8 = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  key.export({ format: 'pem', type: 'pkcs8' }).toString();
const spki = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  key.export({ format: 'pem', type: 'spki' }).toString();

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

const parse = (input: Partial<AccessTokenSigningInput>) => parseAccessTokenSigning({ production: true, ...input });

describe(parseAccessTokenSigning.name, () => {
  it('defaults to HS256 and accepts the name in any case', () => {
    expect(parse({})).toEqual({ signing: { algorithm: 'HS256' }, problems: [] });
    expect(parse({ algorithm: 'hs256' }).signing).toEqual({ algorithm: 'HS256' });
    expect(parse({ algorithm: 'eddsa', privateKey: pkcs8(ed.privateKey) }).signing.algorithm).toBe('EdDSA');
  });

  it('refuses an unknown algorithm, naming the variable', () => {
    expect(parse({ algorithm: 'RS256' }).problems).toEqual([
      'ACCESS_TOKEN_ALGORITHM must be one of HS256, EdDSA, ES256 (got "RS256")',
    ]);
  });

  it('takes an Ed25519 key for EdDSA and a P-256 key for ES256, with the default issuer', () => {
    const eddsa = parse({ algorithm: 'EdDSA', privateKey: pkcs8(ed.privateKey) });
    const es256 = parse({ algorithm: 'ES256', privateKey: pkcs8(ec.privateKey), issuer: 'https://auth.example' });
    expect(eddsa.problems).toEqual([]);
    expect(eddsa.signing).toMatchObject({ algorithm: 'EdDSA', issuer: DEFAULT_ISSUER, keyGenerated: false });
    expect(es256.signing).toMatchObject({ algorithm: 'ES256', issuer: 'https://auth.example', previousKeys: [] });
  });

  it('reads a PEM written on one line with \\n escapes, as environment files carry it', () => {
    const oneLine = pkcs8(ed.privateKey).trim().replace(/\n/g, '\\n');
    expect(parse({ algorithm: 'EdDSA', privateKey: oneLine }).problems).toEqual([]);
  });

  it.each([
    ['an Ed25519 key for ES256', 'ES256', pkcs8(ed.privateKey), 'a P-256 (prime256v1) EC key'],
    ['a P-256 key for EdDSA', 'EdDSA', pkcs8(ec.privateKey), 'an Ed25519 key'],
    ['a P-384 key for ES256', 'ES256', pkcs8(ec384.privateKey), 'a P-256 (prime256v1) EC key'],
    ['an RSA key for EdDSA', 'EdDSA', pkcs8(rsa.privateKey), 'an Ed25519 key'],
  ])('refuses %s', (_case, algorithm, privateKey, wanted) => {
    expect(parse({ algorithm, privateKey }).problems).toEqual([
      `ACCESS_TOKEN_PRIVATE_KEY must be ${wanted} for ACCESS_TOKEN_ALGORITHM=${algorithm}`,
    ]);
  });

  it.each([
    ['a public key', spki(ed.publicKey)],
    ['two private keys', pkcs8(ed.privateKey) + pkcs8(ed.privateKey)],
    ['text that is not PEM', 'not a key'],
    ['a PEM block with a broken body', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'],
  ])('refuses %s as the private key', (_case, privateKey) => {
    expect(parse({ algorithm: 'EdDSA', privateKey }).problems).toEqual([
      'ACCESS_TOKEN_PRIVATE_KEY must be one PEM private key (PKCS#8, "-----BEGIN PRIVATE KEY-----")',
    ]);
  });

  it('requires the key in production', () => {
    expect(parse({ algorithm: 'ES256' }).problems).toEqual([
      'ACCESS_TOKEN_PRIVATE_KEY is required when ACCESS_TOKEN_ALGORITHM=ES256 and NODE_ENV=production',
    ]);
  });

  it('generates one key per process and algorithm outside production', () => {
    const first = parseAccessTokenSigning({ algorithm: 'EdDSA', production: false });
    const second = parseAccessTokenSigning({ algorithm: 'EdDSA', production: false });
    expect(first.problems).toEqual([]);
    expect(first.signing).toMatchObject({ algorithm: 'EdDSA', keyGenerated: true });
    if (first.signing.algorithm === 'HS256' || second.signing.algorithm === 'HS256') throw new Error('expected EdDSA');
    expect(first.signing.privateKey).toBe(second.signing.privateKey);
    expect(first.signing.privateKey.asymmetricKeyType).toBe('ed25519');
  });

  it('keeps the public half of each previous key, given public or private', () => {
    const { signing, problems } = parse({
      algorithm: 'EdDSA',
      privateKey: pkcs8(ed.privateKey),
      previousKeys: `${spki(generateKeyPairSync('ed25519').publicKey)}\n${pkcs8(generateKeyPairSync('ed25519').privateKey)}`,
    });
    expect(problems).toEqual([]);
    if (signing.algorithm === 'HS256') throw new Error('expected EdDSA');
    expect(signing.previousKeys.map((key) => [key.type, key.asymmetricKeyType])).toEqual([
      ['public', 'ed25519'],
      ['public', 'ed25519'],
    ]);
  });

  it('refuses a previous key of the other algorithm: only the configured one is accepted', () => {
    expect(
      parse({ algorithm: 'EdDSA', privateKey: pkcs8(ed.privateKey), previousKeys: spki(ec.publicKey) }).problems,
    ).toEqual(['ACCESS_TOKEN_PREVIOUS_KEYS: key 1 is not a key of ACCESS_TOKEN_ALGORITHM=EdDSA']);
  });

  it('refuses previous keys it cannot use, by position', () => {
    const { problems } = parse({
      algorithm: 'EdDSA',
      privateKey: pkcs8(ed.privateKey),
      previousKeys: spki(ed.publicKey) + spki(rsa.publicKey),
    });
    expect(problems).toEqual(['ACCESS_TOKEN_PREVIOUS_KEYS: key 2 is not an Ed25519 or P-256 PEM key']);
    expect(parse({ algorithm: 'EdDSA', privateKey: pkcs8(ed.privateKey), previousKeys: 'x' }).problems).toEqual([
      'ACCESS_TOKEN_PREVIOUS_KEYS must hold PEM keys (public or private)',
    ]);
  });

  it('refuses keys beside HS256, which would be silently ignored', () => {
    expect(
      parse({ algorithm: 'HS256', privateKey: pkcs8(ed.privateKey), previousKeys: spki(ed.publicKey) }).problems,
    ).toEqual([
      'ACCESS_TOKEN_PRIVATE_KEY is only used with ACCESS_TOKEN_ALGORITHM=EdDSA or ES256',
      'ACCESS_TOKEN_PREVIOUS_KEYS is only used with ACCESS_TOKEN_ALGORITHM=EdDSA or ES256',
    ]);
  });
});
