import { resolveAuthGuardOptions, type AuthGuardOptions } from './auth-guard.options';

const REQUIRED: AuthGuardOptions = {
  issuer: 'https://auth.example.test',
  jwksUrl: 'https://auth.example.test/.well-known/jwks.json',
  feedUrl: 'https://auth.example.test/auth/revocations',
  feedToken: 'feed-token',
};

describe(resolveAuthGuardOptions.name, () => {
  it('applies the defaults', () => {
    expect(resolveAuthGuardOptions(REQUIRED)).toMatchObject({
      ...REQUIRED,
      algorithms: ['EdDSA', 'ES256'],
      maxFeedSilenceMs: 2000,
      clockToleranceSeconds: 5,
      jwksCooldownMs: 30_000,
      jwksCacheMaxAgeMs: 300_000,
      feedReconnectDelayMs: 500,
      fetch: expect.any(Function),
    });
  });

  it('keeps what was given, and a narrower algorithm list', () => {
    const fetch = jest.fn();
    const resolved = resolveAuthGuardOptions({ ...REQUIRED, algorithms: ['EdDSA'], maxFeedSilenceMs: 300, fetch });

    expect(resolved).toMatchObject({ algorithms: ['EdDSA'], maxFeedSilenceMs: 300, fetch });
  });

  it.each(['HS256', 'HS512', 'none', 'RS256'])('refuses the algorithm %s', (alg) => {
    expect(() => resolveAuthGuardOptions({ ...REQUIRED, algorithms: [alg as never] })).toThrow(`${alg} refused`);
  });

  it.each<[string, Partial<Record<keyof AuthGuardOptions, unknown>>, RegExp]>([
    ['no issuer', { issuer: undefined }, /issuer is required/],
    ['a blank feed token', { feedToken: ' ' }, /feedToken is required/],
    ['a JWKS URL that is not http(s)', { jwksUrl: 'file:///etc/jwks.json' }, /jwksUrl must be an http\(s\) URL/],
    ['a feed URL that is not a URL', { feedUrl: 'revocations' }, /feedUrl must be an http\(s\) URL/],
    ['no algorithm', { algorithms: [] }, /algorithms must not be empty/],
    ['a zero silence bound', { maxFeedSilenceMs: 0 }, /maxFeedSilenceMs must be a positive integer/],
    ['a negative tolerance', { clockToleranceSeconds: -1 }, /clockToleranceSeconds must be an integer >= 0/],
    ['a fractional cooldown', { jwksCooldownMs: 1.5 }, /jwksCooldownMs must be a positive integer/],
  ])('refuses %s', (_label, override, message) => {
    expect(() => resolveAuthGuardOptions({ ...REQUIRED, ...override } as AuthGuardOptions)).toThrow(message);
  });

  it('lists every problem at once', () => {
    expect(() => resolveAuthGuardOptions({} as AuthGuardOptions)).toThrow(
      /issuer is required; feedToken is required; jwksUrl must be .*; feedUrl must be/,
    );
  });
});
