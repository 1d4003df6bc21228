import { MAX_TRUSTED_PROXY_HOPS, parseTrustProxy } from './trust-proxy';

const NAME = 'TRUST_PROXY';

/** Every per-address limit trusts the address this setting lets proxies name: too wide, and clients name it. */
describe(parseTrustProxy.name, () => {
  describe('accepted', () => {
    it.each([undefined, 'false', 'FALSE'])('trusts no proxy for %p', (value) => {
      expect(parseTrustProxy(NAME, value)).toEqual({ trustProxy: false });
    });

    it.each([
      ['0', 0],
      ['1', 1],
      [String(MAX_TRUSTED_PROXY_HOPS), MAX_TRUSTED_PROXY_HOPS],
    ])('takes %j as a number of hops', (value, hops) => {
      expect(parseTrustProxy(NAME, value)).toEqual({ trustProxy: hops });
    });

    it.each([
      ['loopback', ['loopback']],
      ['loopback, linklocal,uniquelocal', ['loopback', 'linklocal', 'uniquelocal']],
      ['10.0.0.0/8', ['10.0.0.0/8']],
      ['203.0.113.7, 2001:db8::1', ['203.0.113.7', '2001:db8::1']],
      ['fc00::/7', ['fc00::/7']],
      ['::ffff:10.0.0.0/104', ['::ffff:10.0.0.0/104']],
    ])('takes %j, the widest ranges included, as a list', (value, entries) => {
      expect(parseTrustProxy(NAME, value)).toEqual({ trustProxy: entries });
    });
  });

  describe('refused', () => {
    /** The one problem reported for `value`; nothing is trusted meanwhile. */
    function problemOf(value: string): string {
      const { trustProxy, problem } = parseTrustProxy(NAME, value);
      expect(trustProxy).toBe(false);
      expect(problem).toEqual(expect.stringMatching(/^TRUST_PROXY\b/));
      return problem as string;
    }

    it.each([String(MAX_TRUSTED_PROXY_HOPS + 1), '100', '999999999999999999999'])(
      'refuses %j hops: the client writes all but the last few X-Forwarded-For entries',
      (value) => {
        expect(problemOf(value)).toContain(`at most ${MAX_TRUSTED_PROXY_HOPS}`);
      },
    );

    it.each(['true', 'TRUE', '10.0.0.1, true'])('refuses %j, which trusts every address', (value) => {
      expect(problemOf(value)).toContain('"true"');
    });

    it.each(['proxy.internal', '10.0.0.0/33', '10.0.0.0/8/1', '10.0.0.0/ 8', '2001:db8::/129'])(
      'refuses %j, which is neither an address nor a CIDR',
      (value) => {
        expect(problemOf(value)).toContain(`got "${value}"`);
      },
    );

    it.each([
      '0.0.0.0/0',
      '10.0.0.0/7',
      '::/0',
      'fc00::/6',
      // Every IPv4 address as IPv4-mapped IPv6, and ranges of it wider than a /8.
      '::ffff:0:0/96',
      '::ffff:0.0.0.0/96',
      '::ffff:10.0.0.0/103',
    ])('refuses %j, wider than an IPv4 /8 or an IPv6 /7', (value) => {
      expect(problemOf(value)).toContain(`must not trust ${value}`);
    });

    it('names every range that is too wide in one problem', () => {
      const problem = problemOf('10.0.0.0/8, 0.0.0.0/0, ::/0');

      expect(problem).toContain('0.0.0.0/0, ::/0');
      expect(problem).not.toContain('10.0.0.0/8');
    });
  });
});
