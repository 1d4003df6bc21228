import { JwtService } from '@nestjs/jwt';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import { AccessTokenSigner } from '../crypto/access-token-signer.service';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { AccessTokenService, type AccessTokenClaims } from './access-token.service';

const ACCESS_SECRET = 'access-Secret-0123456789-abcdefghijklmnopqrstuv';
const config = makeAuthConfig({ accessTokenSecret: ACCESS_SECRET });

const NOW = 1_900_000_000;
/** The Clock's time in these specs: milliseconds, deliberately not on a second boundary. */
const NOW_MS = NOW * 1000 + 700;
const clock = { now: () => NOW_MS };
const USER_ID = '6650f0c2a1b2c3d4e5f60718';
const SESSION_ID = '6650f0c2a1b2c3d4e5f60719';
const VALID: AccessTokenClaims = {
  sub: USER_ID,
  sid: SESSION_ID,
  jti: 'b9f7c1de-4d55-4c39-9d4e-2f3b8a1c0e6f',
  iat: NOW,
  exp: NOW + 900,
  roles: ['user'],
};

/** HS256 mode: the signer has no keys, and AccessTokenService signs with @nestjs/jwt. */
const hs256Signer = new AccessTokenSigner({ passwordHashQueueLimit: 1, accessTokenSigning: { algorithm: 'HS256' } });

/** As the JwtModule in AuthModule registers it. */
function jwtServiceFor(secret: string): JwtService {
  return new JwtService({ secret, signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } });
}

function without(claims: AccessTokenClaims, key: keyof AccessTokenClaims): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...claims };
  delete copy[key];
  return copy;
}

describe(AccessTokenService.name, () => {
  let jwtService: JwtService;
  let sut: AccessTokenService;

  beforeEach(() => {
    jwtService = jwtServiceFor(ACCESS_SECRET);
    sut = new AccessTokenService(jwtService, new TokenCrypto(), hs256Signer, config, clock);
  });

  describe('hasExpired', () => {
    it('is false until the second before exp, by the Clock', () => {
      expect(sut.hasExpired({ ...VALID, exp: NOW + 1 })).toBe(false);
    });

    it("is true from the second of exp on, by the Clock (jsonwebtoken's rule)", () => {
      expect(sut.hasExpired({ ...VALID, exp: NOW })).toBe(true);
      expect(sut.hasExpired({ ...VALID, exp: NOW - 1 })).toBe(true);
    });

    it('reads the time it is given instead of the Clock', () => {
      expect(sut.hasExpired(VALID, (VALID.exp - 1) * 1000 + 999)).toBe(false);
      expect(sut.hasExpired(VALID, VALID.exp * 1000)).toBe(true);
    });

    it.each([
      ['no exp', without(VALID, 'exp')],
      ['a string exp', { ...VALID, exp: String(NOW - 1) }],
      ['null', null],
      ['a string', 'payload'],
    ])('leaves a payload with %s to parseClaims (not expired)', (_label, payload) => {
      expect(sut.hasExpired(payload)).toBe(false);
    });
  });

  describe('parseClaims', () => {
    it('accepts well-formed claims and returns exactly them', () => {
      expect(sut.parseClaims({ ...VALID })).toEqual(VALID);
    });

    it('accepts an iat up to 60 seconds ahead of this clock, and empty roles', () => {
      expect(sut.parseClaims({ ...VALID, iat: NOW + 60, exp: NOW + 960, roles: [] })).not.toBeNull();
    });

    it('drops claims it does not know instead of passing them on', () => {
      expect(sut.parseClaims({ ...VALID, isAdmin: true })).not.toHaveProperty('isAdmin');
    });

    it.each([
      ['sub missing', without(VALID, 'sub')],
      ['sid missing', without(VALID, 'sid')],
      ['jti missing', without(VALID, 'jti')],
      ['iat missing', without(VALID, 'iat')],
      ['exp missing', without(VALID, 'exp')],
      ['roles missing', without(VALID, 'roles')],
      ['sub not a string', { ...VALID, sub: 42 }],
      ['sid not a string', { ...VALID, sid: { $ne: null } }],
      ['sub not an ObjectId', { ...VALID, sub: 'alice' }],
      ['sid not an ObjectId', { ...VALID, sid: `${SESSION_ID}0` }],
      ['sub an upper-case ObjectId', { ...VALID, sub: USER_ID.toUpperCase() }],
      ['jti empty', { ...VALID, jti: '' }],
      ['jti not a string', { ...VALID, jti: 7 }],
      ['iat more than 60 s in the future', { ...VALID, iat: NOW + 61, exp: NOW + 961 }],
      ['exp equal to iat', { ...VALID, exp: NOW }],
      ['exp before iat', { ...VALID, exp: NOW - 1 }],
      ['iat a string', { ...VALID, iat: String(NOW) }],
      ['exp infinite', { ...VALID, exp: Infinity }],
      ['roles a string', { ...VALID, roles: 'admin' }],
      ['roles holding a non-string', { ...VALID, roles: ['user', 1] }],
      ['roles an object', { ...VALID, roles: { 0: 'admin', length: 1 } }],
    ])('rejects claims with %s', (_label, claims) => {
      expect(sut.parseClaims(claims)).toBeNull();
    });

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a string', JSON.stringify(VALID)],
      ['a number', 42],
      ['an array', [VALID]],
    ])('rejects a payload that is %s', (_label, payload) => {
      expect(sut.parseClaims(payload)).toBeNull();
    });
  });

  describe('issue', () => {
    const LONG_AFTER = new Date(NOW_MS + 7 * 86_400_000);

    function issueAt(notAfter = LONG_AFTER, roles = ['user'], service = sut) {
      return service.issue(USER_ID, SESSION_ID, roles, notAfter);
    }

    /** Verified against the issuing clock, so that the spec does not depend on today's date. */
    function claimsOf(accessToken: string, verifier = jwtService): AccessTokenClaims {
      return verifier.verify<AccessTokenClaims>(accessToken, { clockTimestamp: NOW });
    }

    it('signs a token that verifies with the access secret and not with another', async () => {
      const { accessToken } = await issueAt();

      expect(() => claimsOf(accessToken)).not.toThrow();
      expect(() => claimsOf(accessToken, jwtServiceFor('another-Secret-0123456789-ABCDEFGHIJKLMNOP'))).toThrow();
    });

    it('uses an HS256 header', async () => {
      const { accessToken } = await issueAt();

      const decoded = jwtService.decode<{ header: { alg: string } }>(accessToken, { complete: true });
      expect(decoded.header.alg).toBe('HS256');
    });

    it('carries sub, sid, jti, iat, exp and roles', async () => {
      const { accessToken } = await issueAt(LONG_AFTER, ['admin', 'user']);

      expect(claimsOf(accessToken)).toEqual({
        sub: USER_ID,
        sid: SESSION_ID,
        jti: expect.any(String),
        iat: NOW,
        exp: NOW + 15 * 60,
        roles: ['admin', 'user'],
      });
    });

    it('sets exp - iat to the configured lifetime and reports it as expiresIn and expiresAt', async () => {
      const { accessToken, expiresIn, expiresAt } = await issueAt();

      const { iat, exp } = claimsOf(accessToken);
      expect(exp - iat).toBe(15 * 60);
      expect(expiresIn).toBe(15 * 60);
      expect(expiresAt).toEqual(new Date(exp * 1000));
    });

    it('follows another configured lifetime', async () => {
      const shortLived = new AccessTokenService(
        jwtService,
        new TokenCrypto(),
        hs256Signer,
        { ...config, accessTokenTtlMs: 90_000 },
        clock,
      );

      const { accessToken, expiresIn } = await issueAt(LONG_AFTER, ['user'], shortLived);

      const { iat, exp } = claimsOf(accessToken);
      expect(exp - iat).toBe(90);
      expect(expiresIn).toBe(90);
    });

    it('ends the token at the end of its session when that comes before the configured lifetime', async () => {
      const sessionEnd = new Date(NOW_MS + 300_000);

      const { accessToken, expiresIn, expiresAt } = await issueAt(sessionEnd);

      const { iat, exp } = claimsOf(accessToken);
      expect(exp - iat).toBe(300);
      expect(expiresIn).toBe(300);
      expect(expiresAt).toEqual(new Date(exp * 1000));
    });

    it('never lets exp pass the session end, whatever the fractions of a second', async () => {
      for (const untilEndMs of [300_000, 300_001, 300_299, 300_300, 300_999, 899_999, 900_000]) {
        const sessionEnd = new Date(NOW_MS + untilEndMs);

        const { accessToken, expiresAt } = await issueAt(sessionEnd);

        expect(claimsOf(accessToken).exp * 1000).toBeLessThanOrEqual(sessionEnd.getTime());
        expect(expiresAt.getTime()).toBeLessThanOrEqual(sessionEnd.getTime());
      }
    });

    it('keeps the configured lifetime exactly when the session ends at that same moment or later', async () => {
      expect((await issueAt(new Date(NOW_MS + 900_000))).expiresIn).toBe(900);
      expect((await issueAt(new Date(NOW_MS + 900_001))).expiresIn).toBe(900);
    });

    it.each([
      ['less than a second away', 400],
      ['already passed', -60_000],
    ])('issues a token of at least one second when the session end is %s', async (_label, untilEndMs) => {
      const { accessToken, expiresIn } = await issueAt(new Date(NOW_MS + untilEndMs));

      const { iat, exp } = claimsOf(accessToken);
      expect(expiresIn).toBe(1);
      expect(exp - iat).toBe(1);
    });

    it('sets iat from the given clock, in whole seconds', async () => {
      expect(claimsOf((await issueAt()).accessToken).iat).toBe(Math.floor(NOW_MS / 1000));
    });

    it('gives every token its own jti', async () => {
      const first = claimsOf((await issueAt()).accessToken);
      const second = claimsOf((await issueAt()).accessToken);

      expect(first.jti).not.toBe(second.jti);
    });

    it('issues tokens whose verified claims parseClaims accepts', async () => {
      const payload: unknown = claimsOf((await issueAt()).accessToken);

      expect(sut.parseClaims(payload)).toMatchObject({ sub: USER_ID, sid: SESSION_ID, roles: ['user'] });
    });
  });
});
