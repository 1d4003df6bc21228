import { eventually, type Reply } from '../../support/http';
import { HS256_HEADER, accessClaims, nowSeconds, signJwt } from '../../support/jwt-forge';
import type { ReceivedRequest } from './echo-upstream';
import {
  expectIdentityOnly,
  expectJsonError,
  expectRetryAfter,
  refuseRedisCommands,
  signIn,
  UNAUTHORIZED,
} from './proxy-expectations';
import { startProxiedDeployment, type ProxiedDeployment } from './proxied-deployment';
import type { ProxyKind } from './proxy-servers';

/**
 * What a deployment behind a real proxy must guarantee, run against deploy/nginx.conf and
 * deploy/Caddyfile alike: the proxy asks GET /api/auth/verify before every request to the protected
 * upstream, hands it the identity the service established and nothing the client claimed, keeps the
 * tokens away from it, and turns every failure of the check into an answer a client understands.
 */

const BURST = 300;
const BURST_CONCURRENCY = 10;

export function describeForwardAuthThroughProxy(kind: ProxyKind): void {
  const limitedVerifyStatus = kind === 'nginx' ? 503 : 429;

  describe(`forward-auth through ${kind}, two instances, Redis mode`, () => {
    let d: ProxiedDeployment;
    beforeAll(async () => {
      d = await startProxiedDeployment(kind, `px${kind}`);
    });
    afterAll(async () => {
      await d?.close();
    });

    /** Runs `act` and returns what reached the upstream meanwhile. */
    async function upstreamDuring(act: () => Promise<unknown>): Promise<ReceivedRequest[]> {
      const before = d.upstream.received.length;
      await act();
      return d.upstream.received.slice(before);
    }

    it('no token: 401 with the JSON error and WWW-Authenticate: Bearer; nothing reaches the upstream', async () => {
      let res!: Reply;
      const reached = await upstreamDuring(async () => (res = await d.through.request('GET', '/app/private')));
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(reached).toEqual([]);
    });

    it('an expired token: 401 "Access token expired" with error="invalid_token", as the API says it', async () => {
      const session = await signIn(d.through);
      const iat = nowSeconds() - 3600;
      const claims = accessClaims(session.userId, session.sessionId, { iat, exp: iat + 900 });
      const expired = signJwt(HS256_HEADER, claims, d.accessTokenSecret);
      const direct = await d.instances[0].me(expired);
      const res = await d.through.request('GET', '/app/private', { token: expired });
      expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: direct.body });
      expect(res.body.message).toBe('Access token expired');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('a Bearer token: the upstream answers, and sees the caller as X-User-Id, X-User-Roles, X-Session-Id', async () => {
      const session = await signIn(d.through);
      let res!: Reply;
      const reached = await upstreamDuring(
        async () => (res = await d.through.request('GET', '/app/orders/7?page=2', { token: session.accessToken })),
      );
      expect(res.status).toBe(200);
      expect(reached).toHaveLength(1);
      expect(reached[0]).toMatchObject({ method: 'GET', url: '/orders/7?page=2' });
      expectIdentityOnly(reached[0], session);
    });

    it.each([
      ['accessToken=', (token: string) => `theme=dark; accessToken=${token}; lang=fr`],
      [
        'spaces around the name, which the service accepts',
        (token: string) => `theme=dark;  accessToken =${token};lang=fr`,
      ],
    ])(
      'the accessToken cookie (%s): the upstream answers, keeps the other cookies, never sees a token',
      async (_label, cookieOf) => {
        const session = await signIn(d.through);
        const cookie = cookieOf(session.accessToken);
        let res!: Reply;
        const reached = await upstreamDuring(async () => (res = await d.through.request('GET', '/app/', { cookie })));
        expect(res.status).toBe(200);
        expectIdentityOnly(reached[0], session);
        expect(reached[0].headers.cookie).toMatch(/^theme=dark;\s*lang=fr$/);
      },
    );

    it.each([
      ['canonical names', { 'X-User-Id': 'admin-id', 'X-User-Roles': 'admin', 'X-Session-Id': 'forged' }],
      ['lower case', { 'x-user-id': 'admin-id', 'x-user-roles': 'admin', 'x-session-id': 'forged' }],
      ['underscores', { X_User_Id: 'admin-id', X_User_Roles: 'admin', X_Session_Id: 'forged' }],
    ])('spoofed identity headers (%s) never reach the upstream', async (_label, spoofed) => {
      const session = await signIn(d.through);
      const reached = await upstreamDuring(async () => {
        const withToken = await d.through.request('GET', '/app/', { token: session.accessToken, headers: spoofed });
        expect(withToken.status).toBe(200);
        const withoutToken = await d.through.request('GET', '/app/', { headers: spoofed });
        expect(withoutToken.status).toBe(401);
      });
      expect(reached).toHaveLength(1);
      expectIdentityOnly(reached[0], session);
      const names = Object.keys(reached[0].headers).filter((name) => /^x[-_](user|session)/i.test(name));
      expect(names.sort()).toEqual(['x-session-id', 'x-user-id', 'x-user-roles']);
    });

    it('a POST with the cookie: cross-site 403 JSON, upstream untouched; same-origin, or with a Bearer header, passes', async () => {
      const session = await signIn(d.through);
      const crossSite = { Origin: 'https://evil.example' };
      let withCookie!: Reply;
      let withBearer!: Reply;
      let sameOrigin!: Reply;
      const reached = await upstreamDuring(async () => {
        // What a browser sends from a page of the proxy's own origin: the port is part of it.
        sameOrigin = await d.through.request('POST', '/app/transfer', {
          cookie: `accessToken=${session.accessToken}`,
          headers: { Origin: d.proxy.url },
          body: { amount: 1 },
        });
        withCookie = await d.through.request('POST', '/app/transfer', {
          cookie: `accessToken=${session.accessToken}`,
          headers: crossSite,
          body: { amount: 100 },
        });
        withBearer = await d.through.request('POST', '/app/transfer', {
          token: session.accessToken,
          headers: crossSite,
          body: { amount: 100 },
        });
      });
      expectJsonError(withCookie, 403);
      expect({ sameOrigin: sameOrigin.status, withBearer: withBearer.status }).toEqual({
        sameOrigin: 200,
        withBearer: 200,
      });
      // verify was told what it authorized: the original method and URI.
      const asked = d.verifyRequests.at(-1)!.headers;
      expect({
        method: asked['x-forwarded-method'] ?? asked['x-original-method'],
        uri: asked['x-forwarded-uri'] ?? asked['x-original-uri'],
      }).toEqual({ method: 'POST', uri: '/app/transfer' });
      expect(reached.map((r) => [r.method, r.body])).toEqual([
        ['POST', '{"amount":1}'],
        ['POST', '{"amount":100}'],
      ]);
      for (const request of reached) expectIdentityOnly(request, session);
    });

    it(`${BURST} requests from one client in a burst all pass; refresh and logout still work after`, async () => {
      const session = await signIn(d.through);
      const cookie = `accessToken=${session.accessToken}`;
      const statuses = new Map<number, number>();
      const connectionsBefore = d.connectionsOpened();
      let next = 0;
      const reached = await upstreamDuring(() =>
        Promise.all(
          Array.from({ length: BURST_CONCURRENCY }, async () => {
            while (next < BURST) {
              next += 1;
              const { status } = await d.through.request('GET', `/app/page/${next}`, { cookie });
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
            }
          }),
        ),
      );
      expect(Object.fromEntries(statuses)).toEqual({ 200: BURST });
      expect(reached).toHaveLength(BURST);
      // Kept-alive connections to the service: not one per check.
      expect(d.connectionsOpened() - connectionsBefore).toBeLessThan(BURST / 4);
      for (const request of reached) expectIdentityOnly(request, session);

      // AUTH_RATE_LIMIT is at its default (100 a minute): verify traffic did not spend it.
      const refreshed = await d.through.refresh(session.refreshToken);
      expect(refreshed.status).toBe(200);
      const logout = await d.through.request('POST', '/api/auth/logout', { token: refreshed.body.accessToken });
      expect(logout.status).toBe(200);
      const after = await d.through.request('GET', '/app/', { token: refreshed.body.accessToken });
      expect(after.status).toBe(401);
    });

    it('logout on instance A: the token is refused through the proxy at once, whichever instance answers', async () => {
      const session = await signIn(d.through);
      expect((await d.through.request('GET', '/app/', { token: session.accessToken })).status).toBe(200);
      const [beforeA, beforeB] = d.verifyCalls();

      expect((await d.instances[0].request('POST', '/api/auth/logout', { token: session.accessToken })).status).toBe(
        200,
      );
      const statuses: number[] = [];
      const reached = await upstreamDuring(async () => {
        for (let i = 0; i < 20; i++) {
          statuses.push((await d.through.request('GET', '/app/', { token: session.accessToken })).status);
        }
      });
      expect(statuses).toEqual(Array<number>(20).fill(401));
      expect(reached).toEqual([]);
      const [afterA, afterB] = d.verifyCalls();
      // Both instances answered some of the twenty checks, and refused them all.
      expect({ a: afterA - beforeA > 0, b: afterB - beforeB > 0 }).toEqual({ a: true, b: true });
    });

    it('logout on A racing a burst of checks through the proxy: every check sent after it answered is refused', async () => {
      const session = await signIn(d.through);
      const checks: Array<{ sentAt: number; status: number }> = [];
      let loggedOutAt = Number.POSITIVE_INFINITY;
      const sentAfterLogout = () => checks.filter((check) => check.sentAt > loggedOutAt).length;
      const worker = async () => {
        for (let i = 0; i < 300 && sentAfterLogout() < 40; i++) {
          const sentAt = performance.now();
          const { status } = await d.through.request('GET', '/app/', { token: session.accessToken });
          checks.push({ sentAt, status });
        }
      };
      const burst = Promise.all(Array.from({ length: BURST_CONCURRENCY }, worker));
      // The burst is under way, and the token still let through, when the logout is sent.
      await eventually(async () => expect(checks.some((check) => check.status === 200)).toBe(true), 10_000, 5);
      const logout = await d.instances[0].request('POST', '/api/auth/logout', { token: session.accessToken });
      loggedOutAt = performance.now();
      await burst;

      expect(logout.status).toBe(200);
      expect(checks.filter((check) => ![200, 401].includes(check.status))).toEqual([]);
      const after = checks.filter((check) => check.sentAt > loggedOutAt);
      expect(after.length).toBeGreaterThanOrEqual(40);
      expect(after.filter((check) => check.status !== 401)).toEqual([]);
    });

    it('Redis refusing every read while connected: 503 with Retry-After through the proxy, nothing let through, then recovery', async () => {
      const session = await signIn(d.through);
      const probe = () => d.through.request('GET', '/app/', { token: session.accessToken });
      expect((await probe()).status).toBe(200);

      const refusals = await refuseRedisCommands(d.redisUrl);
      let answers: Reply[] = [];
      try {
        const reached = await upstreamDuring(async () => {
          answers = await Promise.all(Array.from({ length: 10 }, probe));
        });
        expect(reached).toEqual([]);
      } finally {
        await refusals.lift();
      }
      for (const res of answers) {
        expectJsonError(res, 503);
        expectRetryAfter(res);
      }
      await eventually(async () => expect((await probe()).status).toBe(200), 10_000);
    });

    it('one instance stopped: the proxy passes over it and every request is still answered', async () => {
      const session = await signIn(d.through);
      await d.stopSecondInstance();
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        statuses.push((await d.through.request('GET', '/app/', { token: session.accessToken })).status);
      }
      expect(statuses).toEqual(Array<number>(20).fill(200));
    });

    it('the service stopped: 503 with Retry-After and a JSON body, never 500', async () => {
      const session = await signIn(d.through);
      await d.stopInstances();
      // At once: a proxy may spend its retry time (Caddy's lb_try_duration) on each.
      const replies = await Promise.all(
        [{ token: session.accessToken }, {}].map((options) => d.through.request('GET', '/app/', options)),
      );
      for (const res of replies) {
        expectJsonError(res, 503);
        expectRetryAfter(res);
      }
    });
  });

  describe(`forward-auth through ${kind} with VERIFY_RATE_LIMIT=5`, () => {
    let d: ProxiedDeployment;
    beforeAll(async () => {
      d = await startProxiedDeployment(kind, `pxlimit${kind}`, { VERIFY_RATE_LIMIT: '5' });
    });
    afterAll(async () => {
      await d?.close();
    });

    it(`a limited check reaches the client as ${limitedVerifyStatus} with Retry-After, never 500; logout still works`, async () => {
      const session = await signIn(d.through);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await d.through.request('GET', '/app/', { token: session.accessToken })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200]);

      const before = d.upstream.received.length;
      const limited = await d.through.request('GET', '/app/', { token: session.accessToken });
      expectJsonError(limited, limitedVerifyStatus);
      // Verify's own Retry-After (the rest of its one-minute window), not a proxy's default.
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(5);
      expect(d.upstream.received.length).toBe(before);

      // The verify budget is its own: the auth routes are not affected.
      const logout = await d.through.request('POST', '/api/auth/logout', { token: session.accessToken });
      expect(logout.status).toBe(200);
    });
  });
}
