import { randomBytes, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { DEFAULT_ISSUER } from '../../src/config/access-token-signing';
import {
  HS256_HEADER,
  keySignature,
  newSigningKey,
  signJwt,
  signJwtWithKey,
  spkiPem,
  withoutClaims,
  type AsymmetricAlgorithm,
  type JwtPart,
  type SigningKey,
} from '../support/jwt-forge';
import { testClock } from '../support/test-clock';
import { attackerOrigin } from './support/attacker-origin';
import { bearer, otherAlgorithm, tokenTarget } from './support/token-target';

/**
 * Forged access tokens in the asymmetric modes (ACCESS_TOKEN_ALGORITHM=EdDSA or ES256): the attacks
 * that exist once tokens are verified with public keys named by `kid`. Sources: RFC 8725 sections 2.1
 * and 3.1 (algorithm confusion; one algorithm per key), 3.8 (issuer), 3.10 (kid, jwk, jku, x5u are
 * attacker input); RFC 7515 section 4.1; OWASP JSON Web Token Cheat Sheet.
 * Properties: a token verifies only with one of our keys, named by its kid, under that key's own
 * algorithm; the header never brings a key (jwk) or a place to fetch one (jku, x5u: never contacted);
 * `iss` must be ours; the JWKS publishes public halves only. Refusals are checked as in
 * token-forgery.e2e-suite.ts, which also runs the attacks common to every mode (alg none with our kid
 * among them) in EdDSA and ES256 mode.
 */

jest.setTimeout(60_000);

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
const publicJwk = (key: SigningKey): JWK => key.publicKey.export({ format: 'jwk' }) as JWK;
const headerOf = (key: SigningKey, extra: JwtPart = {}): JwtPart => ({
  alg: key.alg,
  kid: key.kid,
  typ: 'JWT',
  ...extra,
});

/**
 * The forged token is valid for `key` by a JOSE library (at the apps' time): a verifier that used that
 * key would accept it, so a 401 is the server's choice of key, not a malformed forgery.
 */
async function expectValidFor(token: string, key: KeyObject | Uint8Array | typeof EmbeddedJWK, alg: string) {
  const options = { algorithms: [alg], currentDate: new Date(testClock.now()) };
  await expect(jwtVerify(token, key, options)).resolves.toBeDefined();
}

describe.each(['EdDSA', 'ES256'] as const)(
  'security: token forgery specific to %s mode (RFC 8725, OWASP JWT Cheat Sheet)',
  (mode) => asymmetricAttacks(mode),
);

function asymmetricAttacks(mode: AsymmetricAlgorithm): void {
  const target = tokenTarget(`secforgeryasym${mode}`, mode);
  const { keys, aliceClaims, expectRefused } = target;
  const other = otherAlgorithm(mode);
  // The attacker's own keys, one of each type: "signed with the attacker's key of the right type".
  const attacker = newSigningKey(mode);
  const attackerOther = newSigningKey(other);
  const origin = attackerOrigin(() => ({
    keys: [{ ...publicJwk(attacker), kid: attacker.kid, alg: mode, use: 'sig' }],
  }));

  async function expectAccepted(token: string): Promise<void> {
    const { t, alice } = target;
    const verify = await t.http().get('/api/auth/verify').set(bearer(token));
    expect({ status: verify.status, user: verify.headers['x-user-id'] }).toEqual({ status: 204, user: alice.sub });
    const me = await t.http().get('/api/users/me').set(bearer(token));
    expect({ status: me.status, id: (me.body as { id?: string }).id }).toEqual({ status: 200, id: alice.sub });
  }

  describe('keys the server holds, and keys it does not (RFC 8725 section 3.10, OWASP JWT Cheat Sheet)', () => {
    it('positive control: signed by the retired key (ACCESS_TOKEN_PREVIOUS_KEYS), with its own kid: accepted', async () => {
      await expectAccepted(signJwtWithKey(headerOf(keys.retired), aliceClaims(), keys.retired.privateKey));
    });

    it('positive control: signed by the retired key given as a private PEM, with its own kid: accepted', async () => {
      await expectAccepted(
        signJwtWithKey(headerOf(keys.retiredPrivate), aliceClaims(), keys.retiredPrivate.privateKey),
      );
    });

    it.each([
      ["its own (the attacker key's thumbprint)", () => attacker.kid],
      ["the active key's", () => keys.active.kid],
      ["the retired key's", () => keys.retired.kid],
      ['a random string', () => randomBytes(16).toString('base64url')],
      ['a path traversal to /dev/null', () => '../../../../../../dev/null'],
      ['empty', () => ''],
      ['"__proto__" (a property of every object)', () => '__proto__'],
      ['"constructor"', () => 'constructor'],
    ])(
      `the same claims signed by an attacker's ${mode} key, neither active nor retired, kid %s: 401`,
      async (_name, kid) => {
        const token = signJwtWithKey(headerOf(attacker, { kid: kid() }), aliceClaims(), attacker.privateKey);
        await expectValidFor(token, attacker.publicKey, mode);
        await expectRefused(bearer(token));
      },
    );

    // The server writes a kid in every token and finds the key by it alone: no kid names no key. It is
    // not tried against each key in turn (which would reach the retired keys, the other algorithm's
    // among them) nor given the active key by default: even signed with the active key, refused.
    it('no kid at all, signed with the active key: 401 (a key is found by its kid only)', async () => {
      const token = target.signedRight(aliceClaims(), { alg: mode, typ: 'JWT' });
      await expectValidFor(token, keys.active.publicKey, mode);
      await expectRefused(bearer(token));
    });

    it.each([
      ['null', () => null],
      ['a number', () => 0],
      ['an array holding our kid', () => [keys.active.kid]],
      ['an object', () => ({ kid: keys.active.kid })],
    ])('kid %s, signed with the active key: 401 (only a string names a key)', async (_name, kid) => {
      const token = target.signedRight(aliceClaims(), { ...target.header(), kid: kid() });
      await expectValidFor(token, keys.active.publicKey, mode);
      await expectRefused(bearer(token));
    });
  });

  describe('algorithm confusion: the public key as an HMAC secret (RFC 8725 sections 2.1, 3.1)', () => {
    const x = () => publicJwk(keys.active).x as string;
    const publicKeyAs: [string, () => string | Buffer][] = [
      ['its PEM (SPKI)', () => spkiPem(keys.active.publicKey)],
      ['its PEM without the final newline', () => spkiPem(keys.active.publicKey).trimEnd()],
      ['its DER bytes (SPKI)', () => keys.active.publicKey.export({ format: 'der', type: 'spki' })],
      ['its JWK "x" value as text', x],
      ['its JWK "x" value decoded to bytes', () => Buffer.from(x(), 'base64url')],
    ];
    const cases = HMAC_ALGORITHMS.flatMap((alg) =>
      publicKeyAs.flatMap(([name, secret]) => [
        [alg, name, 'with our kid', secret, true] as const,
        [alg, name, 'without a kid', secret, false] as const,
      ]),
    );
    it.each(cases)('%s, the public key as the secret: %s, %s: 401', async (alg, _name, _kid, secret, withKid) => {
      const header = { alg, ...(withKid ? { kid: keys.active.kid } : {}), typ: 'JWT' };
      const token = signJwt(header, aliceClaims(), secret(), alg);
      await expectValidFor(token, Buffer.from(secret()), alg);
      await expectRefused(bearer(token));
    });

    // The variable stays set whatever the mode: in this one it must verify nothing, not even the exact
    // token HS256 mode would accept.
    it.each([
      ['without a kid', {}],
      ['with our kid', { kid: keys.active.kid }],
    ])('HS256 signed with ACCESS_TOKEN_SECRET exactly as HS256 mode signs, %s: 401', async (_name, kid) => {
      const token = signJwt({ ...HS256_HEADER, ...kid }, aliceClaims(), target.t.secrets.access);
      await expectValidFor(token, Buffer.from(target.t.secrets.access), 'HS256');
      await expectRefused(bearer(token));
    });
  });

  describe('alg changed, kid kept (RFC 8725 section 3.1: each key is used with exactly one algorithm)', () => {
    it.each([other, 'Ed25519', 'ES384', 'ES512', 'RS256', 'PS256'])(
      'header alg %s with our kid, signed by the active key: 401',
      async (alg) => {
        await expectRefused(bearer(target.signedRight(aliceClaims(), { ...target.header(), alg })));
      },
    );

    it(`header alg ${other} with our kid, signed by the attacker's ${other} key: 401`, async () => {
      const header = { ...target.header(), alg: other };
      const token = signJwtWithKey(header, aliceClaims(), attackerOther.privateKey);
      await expectValidFor(token, attackerOther.publicKey, other);
      await expectRefused(bearer(token));
    });

    const signatures: [string, (input: string) => string][] = [
      ['64 zero bytes (for ECDSA r = s = 0, the "psychic signature")', () => Buffer.alloc(64).toString('base64url')],
    ];
    if (mode === 'ES256')
      signatures.push([
        "the active key's signature DER-encoded (RFC 7518 section 3.4 requires r || s)",
        (input) => keySignature(input, keys.active.privateKey, 'der'),
      ]);
    it.each(signatures)('our header and claims, the signature %s: 401', async (_name, signature) => {
      const unsigned = target.signedRight(aliceClaims()).split('.').slice(0, 2).join('.');
      await expectRefused(bearer(`${unsigned}.${signature(unsigned)}`));
    });
  });

  describe('headers that bring their own key (RFC 8725 section 3.10, RFC 7515 section 4.1, OWASP JWT Cheat Sheet)', () => {
    const kids: [string, () => JwtPart][] = [
      ['no kid', () => ({})],
      ['our kid', () => ({ kid: keys.active.kid })],
      ["the kid of the attacker's key", () => ({ kid: attacker.kid })],
    ];
    const headers: [string, () => JwtPart][] = [
      ["jwk embedding the attacker's public key", () => ({ jwk: { ...publicJwk(attacker), alg: mode, use: 'sig' } })],
      ["jku pointing at the attacker's key set (a live origin)", () => ({ jku: origin.url('/jwks.json') })],
      ["x5u pointing at the attacker's certificate (a live origin)", () => ({ x5u: origin.url('/cert.pem') })],
    ];
    const cases = headers.flatMap(([name, extra]) =>
      kids.map(([kidName, kid]) => [name, kidName, extra, kid] as const),
    );

    it.each(cases)("%s, %s, signed by the attacker's key: 401, and nothing fetched", async (_n, _k, extra, kid) => {
      const header = { alg: mode, typ: 'JWT', ...extra(), ...kid() };
      const token = signJwtWithKey(header, aliceClaims(), attacker.privateKey);
      await expectValidFor(token, 'jwk' in header ? EmbeddedJWK : attacker.publicKey, mode);
      await expectRefused(bearer(token));
      expect(origin.requests).toEqual([]);
    });
  });

  describe('the issuer (RFC 8725 section 3.8)', () => {
    it.each([
      ['missing', () => withoutClaims(aliceClaims(), 'iss')],
      ['another issuer', () => aliceClaims({ iss: 'https://attacker.example' })],
      [
        `the default "${DEFAULT_ISSUER}" (this app is configured with another)`,
        () => aliceClaims({ iss: DEFAULT_ISSUER }),
      ],
      ['ours with a trailing slash', () => aliceClaims({ iss: `${keys.issuer}/` })],
      ['ours in upper case', () => aliceClaims({ iss: keys.issuer.toUpperCase() })],
      ['ours inside an array', () => aliceClaims({ iss: [keys.issuer] })],
      ['empty', () => aliceClaims({ iss: '' })],
    ])('signed with the active key, iss %s: 401', async (_name, claims) => {
      const token = target.signedRight(claims());
      await expectValidFor(token, keys.active.publicKey, mode);
      await expectRefused(bearer(token));
    });

    it('signed with the retired key, iss missing: 401 (a retired key is held to the same claims)', async () => {
      const token = signJwtWithKey(
        headerOf(keys.retired),
        withoutClaims(aliceClaims(), 'iss'),
        keys.retired.privateKey,
      );
      await expectValidFor(token, keys.retired.publicKey, mode);
      await expectRefused(bearer(token));
    });
  });

  describe('GET /.well-known/jwks.json (RFC 7517)', () => {
    const allKeys = () => [keys.active, keys.retired, keys.retiredPrivate];

    it('lists the active key first, then the retired ones, each with kid, alg and use, public members only, and a max-age', async () => {
      const { t } = target;
      const res = await t.http().get('/.well-known/jwks.json').expect(200);
      // Exactly the public JWK of each key (so no "d", although retiredPrivate was configured as a private
      // key), its thumbprint as kid and its own algorithm.
      expect(res.body).toEqual({
        keys: allKeys().map((key) => ({ ...publicJwk(key), kid: key.kid, alg: key.alg, use: 'sig' })),
      });
      // The thumbprints computed by hand here agree with jose's, which services use.
      for (const jwk of (res.body as { keys: JWK[] }).keys) expect(await calculateJwkThumbprint(jwk)).toBe(jwk.kid);
      const privateParts = allKeys().map((key) => key.privateKey.export({ format: 'jwk' }).d as string);
      const secrets = [t.secrets.access, t.secrets.refresh].flatMap((s) => [s, Buffer.from(s).toString('base64url')]);
      for (const text of [...privateParts, ...secrets]) expect(res.text).not.toContain(text);
      const maxAge = /(?:^|[\s,])max-age=(\d+)/.exec(String(res.headers['cache-control']));
      expect(Number(maxAge?.[1])).toBeGreaterThan(0);
    });

    it("verifies the server's and the retired key's tokens for another service (jose), and not a forged one", async () => {
      const res = await target.t.http().get('/.well-known/jwks.json').expect(200);
      const keySet = createLocalJWKSet(res.body as { keys: JWK[] });
      // The apps' Clock runs ahead of the machine's: the tokens are checked at its time.
      const options = { issuer: keys.issuer, algorithms: [mode], currentDate: new Date(testClock.now()) };
      const { payload, protectedHeader } = await jwtVerify(target.alice.accessToken, keySet, options);
      expect({ sub: payload.sub, kid: protectedHeader.kid }).toEqual({ sub: target.alice.sub, kid: keys.active.kid });
      const retired = signJwtWithKey(headerOf(keys.retired), aliceClaims(), keys.retired.privateKey);
      await expect(jwtVerify(retired, keySet, options)).resolves.toBeDefined();
      await expect(jwtVerify(target.signedWrong(aliceClaims()), keySet, options)).rejects.toThrow();
    });
  });
}
