import { BadRequestException } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import type { ResponseWriter } from '../common/http/response-writer';
import type { AuthConfig } from '../config';
import { AuthCookies, hasDuplicatedTokenCookie } from './auth-cookies';

function request(cookieHeader: string | undefined, cookies: Record<string, unknown> = {}): HttpRequest {
  return { headers: { cookie: cookieHeader }, cookies } as unknown as HttpRequest;
}

describe(hasDuplicatedTokenCookie.name, () => {
  it.each([
    'refreshToken=attacker; refreshToken=victim',
    'accessToken=attacker; accessToken=victim',
    'refreshToken=same; refreshToken=same',
    'refreshToken=; refreshToken=victim',
    'refreshToken=victim; refreshToken=',
    'refreshToken=victim;  refreshToken\t =attacker',
    // Node.js joins repeated Cookie headers with "; ".
    'theme=dark; accessToken=attacker; accessToken=victim',
  ])('finds a token cookie twice in %j', (header) => {
    expect(hasDuplicatedTokenCookie(request(header))).toBe(true);
  });

  it.each([
    undefined,
    '',
    'accessToken=a; refreshToken=b',
    'theme=a; theme=b; accessToken=c',
    'accessToken=a; AccessToken=b; xaccessToken=c; accessTokenX=d',
    'accessToken=a; accessToken',
    'accessToken=a=b; other=accessToken=c',
  ])('finds no token cookie twice in %j', (header) => {
    expect(hasDuplicatedTokenCookie(request(header))).toBe(false);
  });
});

describe(AuthCookies.name, () => {
  const config = { cookie: { secure: true, sameSite: 'strict' } } as AuthConfig;
  const sut = new AuthCookies(config, {} as ResponseWriter);

  describe('readRefreshToken', () => {
    it('reads the refresh cookie', () => {
      expect(sut.readRefreshToken(request('refreshToken=abc', { refreshToken: 'abc' }))).toBe('abc');
    });

    it.each(['refreshToken=attacker; refreshToken=victim', 'accessToken=a; accessToken=b; refreshToken=victim'])(
      'refuses %j with 400',
      (header) => {
        expect(() => sut.readRefreshToken(request(header, { refreshToken: 'victim' }))).toThrow(BadRequestException);
      },
    );

    it.each([
      ['an object (JSON cookie)', { $ne: null }],
      ['an empty string', ''],
    ])('reads nothing from a refresh cookie that is %s', (_label, value) => {
      expect(sut.readRefreshToken(request('refreshToken=x', { refreshToken: value }))).toBeUndefined();
    });
  });
});
