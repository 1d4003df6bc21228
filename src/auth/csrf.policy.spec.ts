import { ForbiddenException } from '@nestjs/common';
import type { HttpRequest } from '../common/http/http-request';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import { CsrfPolicy } from './csrf.policy';

const ALLOWED_ORIGIN = 'https://app.example.com';
const config = makeAuthConfig({ corsOrigins: [ALLOWED_ORIGIN] });

/** A request to https://auth.example.com with these headers. */
function request(method: string, headers: Record<string, string> = {}): HttpRequest {
  return { method, protocol: 'https', headers: { host: 'auth.example.com', ...headers } } as unknown as HttpRequest;
}

describe(CsrfPolicy.name, () => {
  let sut: CsrfPolicy;

  beforeEach(() => {
    sut = new CsrfPolicy(config);
  });

  it.each(['GET', 'HEAD', 'OPTIONS'])('always allows %s, even cross-site from a foreign origin', (method) => {
    const req = request(method, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });

    expect(() => sut.assertCookieRequestAllowed(req)).not.toThrow();
  });

  it('refuses a POST the browser marks Sec-Fetch-Site: cross-site with 403', () => {
    const req = request('POST', { 'sec-fetch-site': 'cross-site' });

    expect(() => sut.assertCookieRequestAllowed(req)).toThrow(ForbiddenException);
  });

  it('refuses cross-site even when the Origin header names an allowed origin', () => {
    const req = request('POST', { origin: ALLOWED_ORIGIN, 'sec-fetch-site': 'cross-site' });

    expect(() => sut.assertCookieRequestAllowed(req)).toThrow(ForbiddenException);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('refuses %s from a foreign Origin with 403', (method) => {
    const req = request(method, { origin: 'https://evil.example' });

    expect(() => sut.assertCookieRequestAllowed(req)).toThrow(ForbiddenException);
  });

  it('refuses the opaque "null" Origin of sandboxed documents', () => {
    expect(() => sut.assertCookieRequestAllowed(request('POST', { origin: 'null' }))).toThrow(ForbiddenException);
  });

  it('allows a POST from an origin listed in CORS_ORIGINS', () => {
    const req = request('POST', { origin: ALLOWED_ORIGIN, 'sec-fetch-site': 'same-site' });

    expect(() => sut.assertCookieRequestAllowed(req)).not.toThrow();
  });

  it("allows a POST from the server's own origin (protocol://host)", () => {
    const req = request('POST', { origin: 'https://auth.example.com', 'sec-fetch-site': 'same-origin' });

    expect(() => sut.assertCookieRequestAllowed(req)).not.toThrow();
  });

  it("refuses the server's host under another protocol, which is another origin", () => {
    const req = request('POST', { origin: 'http://auth.example.com' });

    expect(() => sut.assertCookieRequestAllowed(req)).toThrow(ForbiddenException);
  });

  it('allows a POST without an Origin header (not sent by a browser cross-site)', () => {
    expect(() => sut.assertCookieRequestAllowed(request('POST'))).not.toThrow();
  });

  it('allows nothing cross-origin when CORS_ORIGINS is empty', () => {
    const strict = new CsrfPolicy({ ...config, corsOrigins: [] });

    expect(() => strict.assertCookieRequestAllowed(request('POST', { origin: ALLOWED_ORIGIN }))).toThrow(
      ForbiddenException,
    );
  });

  // Forward-auth: a proxy authorizes someone else's request with a GET and names that request's method.
  describe('for a forwarded request', () => {
    it.each([
      ['x-forwarded-method', 'POST'],
      ['x-original-method', 'DELETE'],
      ['x-forwarded-method', ' patch '],
    ])('refuses a GET whose %s names the unsafe method %j, cross-site', (header, method) => {
      const req = request('GET', { [header]: method, 'sec-fetch-site': 'cross-site' });

      expect(() => sut.assertCookieRequestAllowed(req, true)).toThrow(ForbiddenException);
    });

    it('refuses it from a foreign Origin too', () => {
      const req = request('GET', { 'x-forwarded-method': 'PUT', origin: 'https://evil.example' });

      expect(() => sut.assertCookieRequestAllowed(req, true)).toThrow(ForbiddenException);
    });

    it('refuses when either header names an unsafe method', () => {
      const req = request('GET', {
        'x-forwarded-method': 'GET',
        'x-original-method': 'POST',
        'sec-fetch-site': 'cross-site',
      });

      expect(() => sut.assertCookieRequestAllowed(req, true)).toThrow(ForbiddenException);
    });

    it('allows an unsafe original method from an allowed origin', () => {
      const req = request('GET', { 'x-forwarded-method': 'POST', origin: ALLOWED_ORIGIN });

      expect(() => sut.assertCookieRequestAllowed(req, true)).not.toThrow();
    });

    it.each<Record<string, string>>([{}, { 'x-forwarded-method': 'GET' }, { 'x-original-method': 'HEAD' }])(
      'allows a cross-site GET whose original method is absent or safe (%j)',
      (headers) => {
        const req = request('GET', { ...headers, 'sec-fetch-site': 'cross-site' });

        expect(() => sut.assertCookieRequestAllowed(req, true)).not.toThrow();
      },
    );

    it("never loosens the check: a header naming GET does not excuse the request's own POST", () => {
      const req = request('POST', { 'x-forwarded-method': 'GET', 'sec-fetch-site': 'cross-site' });

      expect(() => sut.assertCookieRequestAllowed(req, true)).toThrow(ForbiddenException);
    });

    it('ignores the headers on a request that is not a forward-auth check', () => {
      const req = request('GET', { 'x-forwarded-method': 'POST', 'sec-fetch-site': 'cross-site' });

      expect(() => sut.assertCookieRequestAllowed(req)).not.toThrow();
    });
  });
});
