import type { HttpRequest } from '../common/http/http-request';
import { extractAccessToken } from './access-token.extractor';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI2NjUwIn0.c2lnbmF0dXJl';
const COOKIE_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb29raWUifQ.b3RoZXI';

function request(authorization?: string, cookies?: Record<string, unknown>): HttpRequest {
  return { headers: authorization === undefined ? {} : { authorization }, cookies } as unknown as HttpRequest;
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
});
