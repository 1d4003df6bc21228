import { JwtService } from '@nestjs/jwt';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import { TokenCrypto } from '../crypto/token-crypto.service';
import { AccessTokenService, type AccessTokenClaims } from './access-token.service';

const ACCESS_SECRET = 'access-Secret-0123456789-abcdefghijklmnopqrstuv';
const config = makeAuthConfig({ accessTokenSecret: ACCESS_SECRET });

const NOW = 1_900_000_000;
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
    sut = new AccessTokenService(jwtService, new TokenCrypto(), config);
  });

  describe('parseClaims', () => {
    it('accepts well-formed claims and returns exactly them', () => {
      expect(sut.parseClaims({ ...VALID }, NOW)).toEqual(VALID);
    });

    it('accepts an iat up to 60 seconds ahead of this clock, and empty roles', () => {
      expect(sut.parseClaims({ ...VALID, iat: NOW + 60, exp: NOW + 960, roles: [] }, NOW)).not.toBeNull();
    });

    it('drops claims it does not know instead of passing them on', () => {
      expect(sut.parseClaims({ ...VALID, isAdmin: true }, NOW)).not.toHaveProperty('isAdmin');
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
      expect(sut.parseClaims(claims, NOW)).toBeNull();
    });

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['a string', JSON.stringify(VALID)],
      ['a number', 42],
      ['an array', [VALID]],
    ])('rejects a payload that is %s', (_label, payload) => {
      expect(sut.parseClaims(payload, NOW)).toBeNull();
    });
  });

  describe('issue', () => {
    it('signs a token that verifies with the access secret and not with another', () => {
      const { accessToken } = sut.issue(USER_ID, SESSION_ID, ['user']);

      expect(() => jwtService.verify(accessToken)).not.toThrow();
      expect(() => jwtServiceFor('another-Secret-0123456789-ABCDEFGHIJKLMNOP').verify(accessToken)).toThrow();
    });

    it('uses an HS256 header', () => {
      const { accessToken } = sut.issue(USER_ID, SESSION_ID, ['user']);

      const decoded = jwtService.decode<{ header: { alg: string } }>(accessToken, { complete: true });
      expect(decoded.header.alg).toBe('HS256');
    });

    it('carries sub, sid, jti, iat, exp and roles', () => {
      const { accessToken } = sut.issue(USER_ID, SESSION_ID, ['admin', 'user']);

      const payload = jwtService.verify<Record<string, unknown>>(accessToken);
      expect(payload).toEqual({
        sub: USER_ID,
        sid: SESSION_ID,
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
        roles: ['admin', 'user'],
      });
    });

    it('sets exp - iat to the configured lifetime and reports it as expiresIn', () => {
      const { accessToken, expiresIn } = sut.issue(USER_ID, SESSION_ID, ['user']);

      const { iat, exp } = jwtService.verify<AccessTokenClaims>(accessToken);
      expect(exp - iat).toBe(15 * 60);
      expect(expiresIn).toBe(15 * 60);
    });

    it('follows another configured lifetime', () => {
      const shortLived = new AccessTokenService(jwtService, new TokenCrypto(), { ...config, accessTokenTtlMs: 90_000 });

      const { accessToken, expiresIn } = shortLived.issue(USER_ID, SESSION_ID, ['user']);

      const { iat, exp } = jwtService.verify<AccessTokenClaims>(accessToken);
      expect(exp - iat).toBe(90);
      expect(expiresIn).toBe(90);
    });

    it('gives every token its own jti', () => {
      const first = jwtService.verify<AccessTokenClaims>(sut.issue(USER_ID, SESSION_ID, ['user']).accessToken);
      const second = jwtService.verify<AccessTokenClaims>(sut.issue(USER_ID, SESSION_ID, ['user']).accessToken);

      expect(first.jti).not.toBe(second.jti);
    });

    it('issues tokens whose verified claims parseClaims accepts', () => {
      const payload: unknown = jwtService.verify(sut.issue(USER_ID, SESSION_ID, ['user']).accessToken);

      expect(sut.parseClaims(payload)).toMatchObject({ sub: USER_ID, sid: SESSION_ID, roles: ['user'] });
    });
  });
});
