import { randomBytes } from 'node:crypto';
import {
  HS256_HEADER,
  hmacSignature,
  jwtHeader,
  nowSeconds,
  signJwt,
  unsignedJwt,
  withoutClaims,
  withTamperedPayload,
  type JwtPart,
} from '../support/jwt-forge';
import { jwtPayload } from '../support/http';
import { ACCESS_TOKEN_MODES, bearer, tokenTarget, type AccessTokenMode } from './support/token-target';

/**
 * Forged access tokens: attacks on signature verification and on the claims. Sources: RFC 8725 (JWT
 * Best Current Practices), OWASP JSON Web Token Cheat Sheet, ASVS 4.0 V3.5.3 (stateless tokens
 * protected against tampering, null cipher and key substitution).
 * Property: every forged token is 401 with the generic body and `WWW-Authenticate: Bearer
 * error="invalid_token"` on both protected routes, never 5xx, never a library message; only an
 * expired token that is otherwise valid is told apart ("Access token expired").
 * Every attack runs against each signing mode: HS256 (ACCESS_TOKEN_SECRET), EdDSA and ES256 (a private
 * key). "The right key" is the mode's: the secret, or the active private key, whose tokens also carry
 * its kid and the issuer. Attacks that only exist with a public key (algorithm confusion, kid, jwk, jku,
 * the JWKS): token-forgery-asymmetric.e2e-suite.ts. Where and how a token is presented:
 * token-presentation.e2e-suite.ts.
 */

jest.setTimeout(60_000);

const EXPIRED = { statusCode: 401, message: 'Access token expired', error: 'Unauthorized' };
const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(ACCESS_TOKEN_MODES)(
  'security: token forgery, %s mode (RFC 8725, OWASP JWT Cheat Sheet, ASVS 4.0 V3.5.3)',
  (mode) => forgeryAttacks(mode),
);

function forgeryAttacks(mode: AccessTokenMode): void {
  const target = tokenTarget(`secforgery${mode}`, mode);
  const { aliceClaims, signedRight, expectRefused } = target;
  // The secret HS256 mode signs with. The asymmetric modes still have one configured: it must not sign.
  const hmacSecret = () => target.t.secrets.access;
  const secretName = mode === 'HS256' ? 'the right secret' : "ACCESS_TOKEN_SECRET (configured, not this mode's key)";
  const rightSignature = mode === 'HS256' ? 'HMAC-SHA256 with the right secret' : `${mode} with the active key`;

  it('positive control: a token signed exactly as the server signs is accepted (so refusals below are not accidental)', async () => {
    const { t, alice } = target;
    // "Exactly": the server's own tokens have this header and these claims.
    expect(jwtHeader(alice.accessToken)).toEqual(target.header());
    expect(jwtPayload(alice.accessToken)).toEqual({
      ...aliceClaims(),
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    const token = signedRight(aliceClaims());
    const me = await t.http().get('/api/users/me').set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ id: alice.sub, username: alice.username });
    const verify = await t.http().get('/api/auth/verify').set(bearer(token)).expect(204);
    expect(verify.headers).toMatchObject({ 'x-user-id': alice.sub, 'x-session-id': alice.sid });
  });

  describe('algorithm attacks (RFC 8725 sections 2.1, 3.1, 3.2)', () => {
    const spellings = ['none', 'None', 'NONE', 'nOnE'];
    // The server's header with only alg changed: in the asymmetric modes it keeps the real kid.
    const withAlg = (alg: string) => ({ ...target.header(), alg });

    it.each(spellings)('alg "%s" with an empty signature: 401', async (alg) => {
      await expectRefused(bearer(unsignedJwt(withAlg(alg), aliceClaims())));
    });

    it.each(spellings)(`alg "%s" with a signature (${rightSignature}): 401`, async (alg) => {
      const unsigned = unsignedJwt(withAlg(alg), aliceClaims()).slice(0, -1);
      await expectRefused(bearer(`${unsigned}.${target.signature(unsigned)}`));
    });

    it('a genuine token with its signature stripped (empty third part): 401', async () => {
      const [header, payload] = target.alice.accessToken.split('.');
      await expectRefused(bearer(`${header}.${payload}.`));
    });

    it('a genuine token with only two parts: 401', async () => {
      const [header, payload] = target.alice.accessToken.split('.');
      await expectRefused(bearer(`${header}.${payload}`));
    });

    it('a genuine token with a fourth part appended: 401', async () => {
      await expectRefused(bearer(`${target.alice.accessToken}.${target.alice.accessToken.split('.')[2]}`));
    });

    it.each(['HS384', 'HS512'] as const)(
      `header alg %s, signed %s with ${secretName} (HMAC confusion): 401`,
      async (alg) => {
        await expectRefused(bearer(signJwt(withAlg(alg), aliceClaims(), hmacSecret(), alg)));
      },
    );

    it.each(['HS384', 'HS512'] as const)(`header alg HS256 but signed %s with ${secretName}: 401`, async (alg) => {
      const input = `${base64Json(HS256_HEADER)}.${base64Json(aliceClaims())}`;
      await expectRefused(bearer(`${input}.${hmacSignature(input, hmacSecret(), alg)}`));
    });

    it(`header alg RS256 with an HMAC signature made with ${secretName} (key confusion): 401`, async () => {
      await expectRefused(bearer(signJwt(withAlg('RS256'), aliceClaims(), hmacSecret())));
    });
  });

  describe('wrong keys (RFC 8725 section 3.5, OWASP JWT Cheat Sheet "weak token secret")', () => {
    it.each([
      ['the refresh secret', () => target.t.secrets.refresh],
      ['an empty secret', () => ''],
      ['the guessed secret "secret"', () => 'secret'],
      ['the guessed secret "your-256-bit-secret" (jwt.io sample)', () => 'your-256-bit-secret'],
      ['the guessed secret "changeme"', () => 'changeme'],
    ])('HS256 signed with %s: 401', async (_name, secret) => {
      await expectRefused(bearer(signJwt(HS256_HEADER, aliceClaims(), secret())));
    });
  });

  describe('headers that point the verifier elsewhere (RFC 8725 section 3.10, OWASP JWT Cheat Sheet)', () => {
    const attackerKey = 'attacker-controlled-key-0123456789abcdef';
    it.each([
      ['kid path traversal to /dev/null, signed with an empty key', { kid: '../../../../../../dev/null' }, ''],
      ['kid SQL/NoSQL-injection text', { kid: "' OR '1'='1" }, attackerKey],
      ['jku pointing at an attacker key set', { jku: 'https://attacker.example/jwks.json' }, attackerKey],
      ['x5u pointing at an attacker certificate', { x5u: 'https://attacker.example/cert.pem' }, attackerKey],
      [
        'an embedded jwk with the attacker key',
        { jwk: { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') } },
        attackerKey,
      ],
    ])('%s: 401', async (_name, extra, key) => {
      await expectRefused(bearer(signJwt({ ...HS256_HEADER, ...extra }, aliceClaims(), key)));
    });
  });

  describe('claims edited or missing (ASVS 4.0 V3.5.3)', () => {
    it.each([
      ["sub swapped to another user's id", (p: JwtPart) => ({ ...p, sub: target.bob.sub })],
      ["sid swapped to another user's live session", (p: JwtPart) => ({ ...p, sid: target.bob.sid })],
      ['roles changed to ["admin"]', (p: JwtPart) => ({ ...p, roles: ['admin'] })],
    ])('a genuine token with %s (signature kept): 401', async (_name, change) => {
      await expectRefused(bearer(withTamperedPayload(target.alice.accessToken, change)));
    });

    const unknownObjectId = () => randomBytes(12).toString('hex');
    it.each([
      ['sub missing', () => withoutClaims(aliceClaims(), 'sub')],
      ['sid missing', () => withoutClaims(aliceClaims(), 'sid')],
      ['exp missing', () => withoutClaims(aliceClaims(), 'exp')],
      ['sub a number', () => aliceClaims({ sub: 1 })],
      ['sub an operator object {"$ne":null}', () => aliceClaims({ sub: { $ne: null } })],
      ['sid a number', () => aliceClaims({ sid: 12345 })],
      ['sid an array', () => aliceClaims({ sid: [target.alice.sid] })],
      ['sid an operator object {"$ne":null}', () => aliceClaims({ sid: { $ne: null } })],
      ['sid an operator object {"$gt":""}', () => aliceClaims({ sid: { $gt: '' } })],
      ['sid of a session that does not exist', () => aliceClaims({ sid: unknownObjectId() })],
      ["sub of user A with user B's live sid", () => target.claims(target.alice.sub, target.bob.sid)],
      ['exp a string', () => aliceClaims({ exp: String(nowSeconds() + 900) })],
      ['nbf an hour in the future', () => aliceClaims({ nbf: nowSeconds() + 3600 })],
      ['iat a day in the future', () => aliceClaims({ iat: nowSeconds() + 86_400, exp: nowSeconds() + 86_400 + 900 })],
    ])('correctly signed, %s: 401', async (_name, claims) => {
      await expectRefused(bearer(signedRight(claims())));
    });

    it.each([
      ['not JSON', () => 'not json'],
      ['JSON null', () => 'null'],
      ['a JSON string', () => '"a string"'],
      ['a JSON array of the claims', () => JSON.stringify([aliceClaims()])],
    ])('a payload that is %s, correctly signed: 401', async (_name, text) => {
      const input = `${base64Json(target.header())}.${Buffer.from(text()).toString('base64url')}`;
      await expectRefused(bearer(`${input}.${target.signature(input)}`));
    });
  });

  describe('expiry', () => {
    const expiredClaims = () => aliceClaims({ iat: nowSeconds() - 1200, exp: nowSeconds() - 300 });

    it('an expired but otherwise valid token of a live session: 401 "Access token expired"', async () => {
      await expectRefused(bearer(signedRight(expiredClaims())), EXPIRED);
    });

    it('an expired token with a bad signature: 401 "Unauthorized", not "expired"', async () => {
      await expectRefused(bearer(target.signedWrong(expiredClaims())));
    });
  });

  it("a freshly signed, valid token whose session was revoked: 401; the same user's other session is kept", async () => {
    const { t } = target;
    const first = await target.newCaller('dave');
    const again = await t
      .http()
      .post('/api/auth/login')
      .send({ username: first.username, password: first.password })
      .expect(200);
    const otherSid = jwtPayload(again.body.accessToken as string).sid as string;
    await t.http().post('/api/auth/logout').set(bearer(first.accessToken)).expect(200);

    // Never seen by the server before: only the session lookup can refuse it.
    await expectRefused(bearer(signedRight(target.claims(first.sub, first.sid))));
    await t
      .http()
      .get('/api/users/me')
      .set(bearer(signedRight(target.claims(first.sub, otherSid))))
      .expect(200);
  });

  if (mode === 'HS256') {
    it('GET /.well-known/jwks.json: 404, and neither secret appears in the answer (HS256 has no public key)', async () => {
      const res = await target.t.http().get('/.well-known/jwks.json').expect(404);
      const answer = JSON.stringify(res.headers) + res.text;
      for (const secret of [target.t.secrets.access, target.t.secrets.refresh]) {
        // As given, and as a JWK "k" (RFC 7518 section 6.4) or hex would carry it.
        for (const form of [secret, Buffer.from(secret).toString('base64url'), Buffer.from(secret).toString('hex')])
          expect(answer).not.toContain(form);
      }
    });
  }
}
