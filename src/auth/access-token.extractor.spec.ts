import type { HttpRequest } from '../common/http/http-request';
import { extractAccessToken } from './access-token.extractor';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI2NjUwIn0.c2lnbmF0dXJl';
const COOKIE_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb29raWUifQ.b3RoZXI';

function request(authorization?: string, cookies?: Record<string, unknown>, cookieHeader?: string): HttpRequest {
  const headers = { authorization, cookie: cookieHeader };
  return { headers, cookies } as unknown as HttpRequest;
}

describe(extractAccessToken.name, () => {
  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('takes the token from "%s <token>"', (scheme) => {
    expect(extractAccessToken(request(`${scheme} ${TOKEN}`))).toEqual({ token: TOKEN, source: 'header' });
  });

  it('prefers the Authorization header over the cookie', () => {
    expect(extractAccessToken(request(`Bearer ${TOKEN}`, { accessToken: COOKIE_TOKEN }))).toEqual({
      token: TOKEN,
      source: 'header',
    });
  });

  it.each([
    'Bearer',
    'Bearer ',
    `Bearer ${TOKEN} extra`,
    `Bearer  ${TOKEN}`,
    `Bearer${TOKEN}`,
    `Bearer ${TOKEN},x`,
    '',
  ])('reports a malformed Authorization header %j as a refused header token', (authorization) => {
    expect(extractAccessToken(request(authorization))).toEqual({ token: null, source: 'header' });
  });

  it('does not fall back to the cookie when the Authorization header is malformed', () => {
    expect(extractAccessToken(request('Bearer', { accessToken: COOKIE_TOKEN }))).toEqual({
      token: null,
      source: 'header',
    });
  });

  it('does not take a token from another scheme such as Basic', () => {
    expect(extractAccessToken(request('Basic dXNlcjpwYXNzd29yZA=='))).toEqual({ token: null, source: 'header' });
  });

  it('takes the accessToken cookie when there is no Authorization header', () => {
    expect(extractAccessToken(request(undefined, { accessToken: COOKIE_TOKEN }))).toEqual({
      token: COOKIE_TOKEN,
      source: 'cookie',
    });
  });

  it('finds nothing without header or cookie', () => {
    expect(extractAccessToken(request())).toBeUndefined();
    expect(extractAccessToken(request(undefined, {}))).toBeUndefined();
    expect(extractAccessToken(request(undefined, { refreshToken: COOKIE_TOKEN }))).toBeUndefined();
  });

  it.each([
    ['an object', { $ne: null }],
    ['an array', [COOKIE_TOKEN]],
    ['a number', 42],
    ['an empty string', ''],
  ])('ignores an accessToken cookie that is %s', (_label, value) => {
    expect(extractAccessToken(request(undefined, { accessToken: value }))).toBeUndefined();
  });

  it('ignores an accessToken inherited from the cookie object prototype', () => {
    const cookies = Object.create({ accessToken: COOKIE_TOKEN }) as Record<string, unknown>;

    expect(extractAccessToken(request(undefined, cookies))).toBeUndefined();
  });

  describe('a token cookie sent twice (cookie tossing)', () => {
    it.each([
      `accessToken=${COOKIE_TOKEN}; accessToken=${TOKEN}`,
      `accessToken=${COOKIE_TOKEN}; accessToken=${COOKIE_TOKEN}`,
      `accessToken=; accessToken=${COOKIE_TOKEN}`,
      `accessToken=${COOKIE_TOKEN}; refreshToken=a; refreshToken=b`,
    ])('reports %j as a refused cookie token', (header) => {
      // The parsers keep one copy; only the raw header shows the other.
      expect(extractAccessToken(request(undefined, { accessToken: COOKIE_TOKEN }, header))).toEqual({
        token: null,
        source: 'cookie',
      });
    });

    it('refuses it even beside a well-formed Authorization header', () => {
      const header = `accessToken=${COOKIE_TOKEN}; accessToken=${TOKEN}`;

      expect(extractAccessToken(request(`Bearer ${TOKEN}`, { accessToken: COOKIE_TOKEN }, header))).toEqual({
        token: null,
        source: 'cookie',
      });
    });

    it('takes the cookie when other cookies repeat', () => {
      const header = `theme=a; theme=b; accessToken=${COOKIE_TOKEN}`;

      expect(extractAccessToken(request(undefined, { accessToken: COOKIE_TOKEN, theme: 'a' }, header))).toEqual({
        token: COOKIE_TOKEN,
        source: 'cookie',
      });
    });
  });
});
