import { createPublicKey } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { AccessTokenVerifier, MAX_TOKEN_LENGTH } from './access-token.verifier';
import { resolveAuthGuardOptions, type AuthGuardOptions } from './auth-guard.options';
import {
  createSigningKey,
  FakeAuthServer,
  newSessionId,
  nowSeconds,
  type SigningKey,
} from './testing/fake-auth-server';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe(AccessTokenVerifier.name, () => {
  let server: FakeAuthServer;
  let edKey: SigningKey;
  let ecKey: SigningKey;

  const verifierWith = (options: Partial<AuthGuardOptions> = {}) =>
    new AccessTokenVerifier(resolveAuthGuardOptions(server.guardOptions(options)));

  beforeAll(async () => {
    [edKey, ecKey] = await Promise.all([createSigningKey('EdDSA'), createSigningKey('ES256')]);
    server = await FakeAuthServer.start([edKey, ecKey]);
  });

  afterAll(() => server.close());

  beforeEach(() => {
    server.publish([edKey, ecKey]);
    server.jwksMode = 'up';
  });

  describe('remembers the tokens it verified', () => {
    it('verifies a token once: the same text is not checked again, any other text is', async () => {
      const verifier = verifierWith();
      const checks = jest.spyOn(verifier as unknown as { verifyUncached: () => unknown }, 'verifyUncached');
      const token = await server.sign(edKey, { sid: newSessionId() });
      expect((await verifier.verify(token)).status).toBe('valid');
      expect((await verifier.verify(token)).status).toBe('valid');
      expect(checks).toHaveBeenCalledTimes(1);

      const tampered = `${token.slice(0, -4)}AAAA`;
      expect((await verifier.verify(tampered)).status).toBe('invalid');
      expect((await verifier.verify(tampered)).status).toBe('invalid');
      // A refused token is never remembered: each presentation is checked.
      expect(checks).toHaveBeenCalledTimes(3);
    });

    it('answers "expired" for a remembered token once its exp has passed', async () => {
      const verifier = verifierWith({ clockToleranceSeconds: 0 });
      const token = await server.sign(edKey, { sid: newSessionId(), exp: nowSeconds() + 1 });
      expect((await verifier.verify(token)).status).toBe('valid');
      await new Promise((resolve) => setTimeout(resolve, 1100));

      expect(await verifier.verify(token)).toEqual({ status: 'expired' });
    });
  });

  describe('accepts', () => {
    it.each(['EdDSA', 'ES256'] as const)('a valid %s token, and hands on its claims as the principal', async (alg) => {
      const sid = newSessionId();
      const token = await server.sign(alg === 'EdDSA' ? edKey : ecKey, {
        sub: 'user-42',
        sid,
        roles: ['user', 'admin'],
      });

      const result = await verifierWith().verify(token);

      expect(result).toMatchObject({
        status: 'valid',
        principal: { id: 'user-42', sessionId: sid, roles: ['user', 'admin'] },
      });
    });

    it('a token expired by less than the clock tolerance', async () => {
      const token = await server.sign(edKey, { iat: nowSeconds() - 900, exp: nowSeconds() - 2 });

      expect((await verifierWith({ clockToleranceSeconds: 5 }).verify(token)).status).toBe('valid');
      expect((await verifierWith({ clockToleranceSeconds: 0 }).verify(token)).status).toBe('expired');
    });

    it('a session id in capitals, normalised to lowercase as the feed compares them', async () => {
      const sid = newSessionId();
      const result = await verifierWith().verify(await server.sign(edKey, { sid: sid.toUpperCase() }));

      expect(result).toMatchObject({ status: 'valid', principal: { sessionId: sid } });
    });
  });

  describe('refuses as invalid', () => {
    const expectInvalid = async (token: string, reason?: RegExp, verifier = verifierWith()) => {
      const result = await verifier.verify(token);
      expect(result.status).toBe('invalid');
      if (reason) expect(result).toMatchObject({ reason: expect.stringMatching(reason) });
    };

    it('a token whose signature does not match its content', async () => {
      const token = await server.sign(edKey);
      const [header, , signature] = token.split('.');
      const otherPayload = (await server.sign(edKey, { roles: ['admin'] })).split('.')[1];

      await expectInvalid(`${header}.${otherPayload}.${signature}`, /SIGNATURE_VERIFICATION_FAILED/);
    });

    it('a token signed by another key under the kid of a published one', async () => {
      const impostor = await createSigningKey('EdDSA', edKey.kid);

      await expectInvalid(await server.sign(impostor), /SIGNATURE_VERIFICATION_FAILED/);
    });

    it.each([
      ['too short for the curve', 'AAAA'],
      ['empty', ''],
    ])('a token with a signature %s', async (_label, signature) => {
      for (const key of [edKey, ecKey]) {
        const [header, payload] = (await server.sign(key)).split('.');
        await expectInvalid(`${header}.${payload}.${signature}`);
      }
    });

    it('an unsigned token (alg none), without fetching any key', async () => {
      const fetches = server.jwksFetches;
      const payload = { sub: 'x', sid: newSessionId(), iat: nowSeconds(), exp: nowSeconds() + 60, roles: ['admin'] };
      const token = `${b64({ alg: 'none', typ: 'JWT', kid: edKey.kid })}.${b64({ ...payload, iss: server.issuer })}.`;

      await expectInvalid(token, /algorithm none not allowed/);
      expect(server.jwksFetches).toBe(fetches);
    });

    it('an HS256 token whose secret is the public key (algorithm confusion)', async () => {
      const spki = createPublicKey({ key: edKey.publicJwk as never, format: 'jwk' });
      const secrets = [
        Buffer.from(edKey.publicJwk.x as string, 'base64url'),
        Buffer.from(JSON.stringify(edKey.publicJwk)),
        Buffer.from(spki.export({ type: 'spki', format: 'pem' }) as string),
        spki.export({ type: 'spki', format: 'der' }),
      ];
      for (const secret of secrets) {
        const token = await new SignJWT({ sub: 'x', sid: newSessionId(), roles: ['admin'], iss: server.issuer })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: edKey.kid })
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new Uint8Array(secret));
        await expectInvalid(token, /algorithm HS256 not allowed/);
      }
    });

    it('a token of an algorithm left out of the configured list', async () => {
      await expectInvalid(await server.sign(ecKey), /ES256 not allowed/, verifierWith({ algorithms: ['EdDSA'] }));
    });

    it('a token signed with the key embedded in its own jwk header', async () => {
      const attacker = await createSigningKey('EdDSA');
      for (const kid of [edKey.kid, attacker.kid]) {
        await expectInvalid(await server.sign(attacker, {}, { kid, jwk: attacker.publicJwk }));
      }
    });

    it('a token pointing at an attacker key set with jku or x5u, which is never fetched', async () => {
      const attacker = await createSigningKey('EdDSA');
      server.attackerKeys = [attacker.publicJwk];
      await expectInvalid(await server.sign(attacker, {}, { jku: server.attackerJwksUrl }), /NO_MATCHING_KEY/);
      await expectInvalid(await server.sign(attacker, {}, { x5u: server.attackerJwksUrl }), /NO_MATCHING_KEY/);
      expect(server.attackerJwksFetches).toBe(0);

      // The same token passes once its key is in the auth service's set: only where the key comes from was wrong.
      server.publish([edKey, attacker]);
      const result = await verifierWith().verify(await server.sign(attacker, {}, { jku: server.attackerJwksUrl }));
      expect(result.status).toBe('valid');
    });

    it('a token of another issuer', async () => {
      await expectInvalid(await server.sign(edKey, { iss: 'https://elsewhere.example' }), /"iss"/);
    });

    it('a token without the typ of an access token', async () => {
      await expectInvalid(await server.sign(edKey, {}, { typ: 'refresh+jwt' }), /"typ"/);
    });

    it('a token issued in the future beyond the tolerance', async () => {
      await expectInvalid(await server.sign(edKey, { iat: nowSeconds() + 60 }), /iat in the future/);
    });

    it.each<[string, Record<string, unknown>]>([
      ['no sid', { sid: undefined }],
      ['a sid that is not 24 hex characters', { sid: 'not-a-session-id' }],
      ['a numeric sid', { sid: 123456789012 }],
      ['no sub', { sub: undefined }],
      ['an empty sub', { sub: '' }],
      ['no roles', { roles: undefined }],
      ['roles as a string', { roles: 'admin' }],
      ['a role that is not a string', { roles: ['user', 1] }],
      ['no exp', { exp: undefined }],
      ['no iat', { iat: undefined }],
      ['an iat that is not a number', { iat: 'yesterday' }],
      ['an exp that is not a number', { exp: 'tomorrow' }],
    ])('a token with %s', async (_label, claims) => {
      await expectInvalid(await server.sign(edKey, claims));
    });

    it('an expired token whose claims are malformed, rather than call it expired', async () => {
      const old = { iat: nowSeconds() - 3600, exp: nowSeconds() - 1800 };
      await expectInvalid(await server.sign(edKey, { ...old, sid: 'not-a-session-id' }), /unexpected claims/);
    });

    it('malformed or oversized input, without fetching any key', async () => {
      const fetches = server.jwksFetches;
      const verifier = verifierWith();
      for (const token of ['', 'abc', 'a.b.c', `${b64({ alg: 'EdDSA' })}.e30.`, 'x'.repeat(MAX_TOKEN_LENGTH + 1)]) {
        await expectInvalid(token, undefined, verifier);
      }
      expect(server.jwksFetches).toBe(fetches);
    });
  });

  it('reports an expired but otherwise valid token as expired', async () => {
    const token = await server.sign(edKey, { iat: nowSeconds() - 3600, exp: nowSeconds() - 1800 });

    expect(await verifierWith().verify(token)).toEqual({ status: 'expired' });
  });

  describe('key set', () => {
    it('refetches once for an unknown kid after the cooldown, then refuses it', async () => {
      const verifier = verifierWith({ jwksCooldownMs: 200 });
      expect((await verifier.verify(await server.sign(edKey))).status).toBe('valid');
      const unknown = await server.sign(await createSigningKey('EdDSA'));
      const afterFirstFetch = server.jwksFetches;

      // Within the cooldown of the first fetch: no refetch at all.
      expect((await verifier.verify(unknown)).status).toBe('invalid');
      expect(server.jwksFetches).toBe(afterFirstFetch);

      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await verifier.verify(unknown)).toMatchObject({ status: 'invalid', reason: /NO_MATCHING_KEY/ });
      expect(server.jwksFetches).toBe(afterFirstFetch + 1);
    });

    it('fetches at most once for a burst of 50 random kids, then not again within the cooldown', async () => {
      const verifier = verifierWith({ jwksCooldownMs: 1000 });
      expect((await verifier.verify(await server.sign(edKey))).status).toBe('valid');
      const attacker = await createSigningKey('EdDSA');
      const burst = await Promise.all(
        Array.from({ length: 50 }, () => server.sign(attacker, {}, { kid: randomUUID() })),
      );
      await new Promise((resolve) => setTimeout(resolve, 1050));

      const before = server.jwksFetches;
      const results = await Promise.all(burst.map((token) => verifier.verify(token)));
      expect(results.every((result) => result.status === 'invalid')).toBe(true);
      expect(server.jwksFetches).toBe(before + 1);

      await Promise.all(burst.map((token) => verifier.verify(token)));
      expect(server.jwksFetches).toBe(before + 1);
    });

    it('picks up a key published after the first fetch once the cooldown has passed', async () => {
      const verifier = verifierWith({ jwksCooldownMs: 100 });
      expect((await verifier.verify(await server.sign(edKey))).status).toBe('valid');
      const next = await createSigningKey('ES256');
      server.publish([edKey, ecKey, next]);
      await new Promise((resolve) => setTimeout(resolve, 150));

      expect((await verifier.verify(await server.sign(next))).status).toBe('valid');
    });

    it.each(['error', 'reset'] as const)(
      'answers unavailable, not invalid, when the key set cannot be fetched (%s)',
      async (mode) => {
        server.jwksMode = mode;

        expect(await verifierWith().verify(await server.sign(edKey))).toMatchObject({ status: 'unavailable' });
      },
    );

    it('answers unavailable for an unknown kid while the key set is down, and keeps verifying known keys', async () => {
      const verifier = verifierWith({ jwksCooldownMs: 100 });
      expect((await verifier.verify(await server.sign(edKey))).status).toBe('valid');
      server.jwksMode = 'reset';
      await new Promise((resolve) => setTimeout(resolve, 150));

      expect((await verifier.verify(await server.sign(await createSigningKey('EdDSA')))).status).toBe('unavailable');
      expect((await verifier.verify(await server.sign(ecKey))).status).toBe('valid');
    });
  });
});
