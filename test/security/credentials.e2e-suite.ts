import { createTestApp, type TestApp } from '../support/test-app';
import { login, PASSWORD, register, registerAndLogin, uniqueUsername, bearer } from '../support/http';
import { expectErrorBody } from '../support/contract-assertions';
import { countOf, expectNoLeak, expectNoTokenIssued } from './support/attack-kit';

/**
 * Attacks on the credential bodies. Sources: OWASP Injection Prevention Cheat Sheet (NoSQL operators),
 * OWASP Prototype Pollution Prevention Cheat Sheet, OWASP Mass Assignment Cheat Sheet, OWASP
 * Authentication Cheat Sheet ("User IDs": case-insensitive), ASVS 4.0 V5.1.2 (mass assignment),
 * V5.1.3 (allow-list input validation), V5.3.4 (database queries protected from injection).
 * Property: 400, and no query runs with the attacker's value: nobody is created or logged in
 * (users and sessions counted in the database).
 */

jest.setTimeout(60_000);

type Json = Record<string, unknown>;

describe('security: credentials (OWASP Injection Prevention, Prototype Pollution, Mass Assignment; ASVS 4.0 V5.1.2, V5.3.4)', () => {
  let t: TestApp;
  let victim: { username: string; id: string };

  beforeAll(async () => {
    t = await createTestApp({ AUTH_RATE_LIMIT: '0', LOGIN_MAX_FAILURES: '1000' }, 'seccreds');
    victim = await register(t, uniqueUsername('victim'));
  });
  afterAll(async () => {
    await t?.close();
  });

  /** 400 with the error shape; no token, no cookie; the users and sessions collections unchanged. */
  async function expectRejectedWithoutEffect(route: string, send: () => PromiseLike<any>): Promise<void> {
    const [users, sessions] = [await countOf(t, 'users'), await countOf(t, 'sessions')];
    const res = await send();
    expectNoLeak(res, route);
    expectErrorBody(res, 400);
    expectNoTokenIssued(res);
    expect({ route, users: await countOf(t, 'users'), sessions: await countOf(t, 'sessions') }).toEqual({
      route,
      users,
      sessions,
    });
  }

  const post = (route: string, body: unknown) => () =>
    t
      .http()
      .post(route)
      .send(body as Json);
  const postRaw = (route: string, raw: string) => () =>
    t.http().post(route).set('Content-Type', 'application/json').send(raw);

  describe('NoSQL operators (OWASP Injection Prevention Cheat Sheet, ASVS 4.0 V5.3.4)', () => {
    const operatorBodies: Array<[string, () => unknown]> = [
      ['username {"$ne":null}', () => ({ username: { $ne: null }, password: PASSWORD })],
      ['username {"$gt":""}', () => ({ username: { $gt: '' }, password: PASSWORD })],
      ['username {"$regex":".*"}', () => ({ username: { $regex: '.*' }, password: PASSWORD })],
      ['password {"$ne":null}', () => ({ username: victim.username, password: { $ne: null } })],
      ['password {"$gt":""}', () => ({ username: victim.username, password: { $gt: '' } })],
      ['password {"$regex":".*"}', () => ({ username: victim.username, password: { $regex: '.*' } })],
      ['both fields operators', () => ({ username: { $ne: null }, password: { $ne: null } })],
      [
        'top level {"$where":"1"} beside valid fields',
        () => ({ username: victim.username, password: PASSWORD, $where: '1' }),
      ],
      [
        'top level {"$or":[...]} beside valid fields',
        () => ({ username: victim.username, password: PASSWORD, $or: [{ username: { $ne: null } }] }),
      ],
      ['nested: username {"$in":[name]}', () => ({ username: { $in: [victim.username] }, password: PASSWORD })],
      ['nested: username [{"$ne":null}]', () => ({ username: [{ $ne: null }], password: PASSWORD })],
      ['nested: username {"a":{"$regex":".*"}}', () => ({ username: { a: { $regex: '.*' } }, password: PASSWORD })],
      ['nested: password {"$not":{"$eq":""}}', () => ({ username: victim.username, password: { $not: { $eq: '' } } })],
    ];

    it.each(operatorBodies)('login with %s: 400, nobody logged in', async (name, body) => {
      await expectRejectedWithoutEffect(`login ${name}`, post('/api/auth/login', body()));
    });

    it.each(operatorBodies)('register with %s: 400, nobody created', async (name, body) => {
      await expectRejectedWithoutEffect(`register ${name}`, post('/api/auth/register', body()));
    });

    it('a duplicate key whose last value is an operator (JSON.parse keeps the last): 400, nobody logged in', async () => {
      const raw = `{"username":"${victim.username}","username":{"$ne":null},"password":"${PASSWORD}"}`;
      await expectRejectedWithoutEffect('login duplicate key', postRaw('/api/auth/login', raw));
    });

    it('PATCH /api/users/me/password with {"currentPassword":{"$ne":null}}: 400, the password unchanged', async () => {
      const user = await registerAndLogin(t);
      const res = await t
        .http()
        .patch('/api/users/me/password')
        .set('Authorization', bearer(user.accessToken))
        .send({ currentPassword: { $ne: null }, newPassword: 'a brand new password' });
      expectNoLeak(res);
      expectErrorBody(res, 400);
      await login(t, user.username, PASSWORD);
    });
  });

  describe('prototype pollution (OWASP Prototype Pollution Prevention Cheat Sheet)', () => {
    afterEach(() => {
      // The app runs in this process: its Object.prototype is ours.
      expect(({} as Json).polluted).toBeUndefined();
      expect(({} as Json).roles).toBeUndefined();
      expect(({} as Json).isAdmin).toBeUndefined();
    });

    // Raw JSON text: JSON.stringify cannot write an own "__proto__" key.
    const pollutingBodies = (username: string): Array<[string, string]> => [
      [
        'top-level "__proto__"',
        `{"username":"${username}","password":"${PASSWORD}","__proto__":{"polluted":"yes","roles":["admin"]}}`,
      ],
      [
        'top-level "constructor.prototype"',
        `{"username":"${username}","password":"${PASSWORD}","constructor":{"prototype":{"polluted":"yes"}}}`,
      ],
      ['"__proto__" inside username', `{"username":{"__proto__":{"polluted":"yes"}},"password":"${PASSWORD}"}`],
      [
        '"constructor" inside password',
        `{"username":"${username}","password":{"constructor":{"prototype":{"isAdmin":true}}}}`,
      ],
      [
        '"__proto__" as the whole body',
        `{"__proto__":{"username":"${username}","password":"${PASSWORD}","polluted":"yes"}}`,
      ],
    ];

    it.each(pollutingBodies('placeholder').map(([name], index) => [name, index] as const))(
      'register with %s: 400, nobody created, Object.prototype untouched',
      async (name, index) => {
        const raw = pollutingBodies(uniqueUsername('proto'))[index][1];
        await expectRejectedWithoutEffect(`register ${name}`, postRaw('/api/auth/register', raw));
      },
    );

    it.each(pollutingBodies('placeholder').map(([name], index) => [name, index] as const))(
      'login with %s: 400, nobody logged in, Object.prototype untouched',
      async (name, index) => {
        const raw = pollutingBodies(victim.username)[index][1];
        await expectRejectedWithoutEffect(`login ${name}`, postRaw('/api/auth/login', raw));
      },
    );

    it('refresh with {"__proto__":{"refreshToken":...}}: 400 or 401, nothing issued', async () => {
      const res = await t
        .http()
        .post('/api/auth/refresh')
        .set('Content-Type', 'application/json')
        .send('{"__proto__":{"refreshToken":"x.0.y"}}');
      expectNoLeak(res);
      expect([400, 401]).toContain(res.status);
      expectNoTokenIssued(res);
    });
  });

  describe('mass assignment (OWASP Mass Assignment Cheat Sheet, ASVS 4.0 V5.1.2)', () => {
    it.each([
      ['roles ["admin"]', { roles: ['admin'] }],
      ['roles "admin"', { roles: 'admin' }],
      ['_id', { _id: '000000000000000000000001' }],
      ['id', { id: '000000000000000000000001' }],
      ['passwordHash', { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g' }],
      ['usernameKey', { usernameKey: 'admin' }],
      ['createdAt', { createdAt: '2000-01-01T00:00:00.000Z' }],
    ])('register with an extra %s: 400, nobody created', async (name, extra) => {
      await expectRejectedWithoutEffect(
        `register +${name}`,
        post('/api/auth/register', { username: uniqueUsername('mass'), password: PASSWORD, ...extra }),
      );
    });

    it('login with an extra roles ["admin"]: 400, nobody logged in', async () => {
      await expectRejectedWithoutEffect(
        'login +roles',
        post('/api/auth/login', { username: victim.username, password: PASSWORD, roles: ['admin'] }),
      );
    });

    it('PATCH /api/users/me/password with an extra roles ["admin"]: 400, roles unchanged', async () => {
      const user = await registerAndLogin(t);
      const res = await t
        .http()
        .patch('/api/users/me/password')
        .set('Authorization', bearer(user.accessToken))
        .send({ currentPassword: PASSWORD, newPassword: 'a brand new password', roles: ['admin'] });
      expectErrorBody(res, 400);
      const me = await t.http().get('/api/users/me').set('Authorization', bearer(user.accessToken)).expect(200);
      expect(me.body.roles).toEqual(['user']);
    });
  });

  describe('look-alike usernames (OWASP Authentication Cheat Sheet "User IDs", ASVS 4.0 V5.1.3)', () => {
    it('"alice" then "ALICE" and "Alice": 409, one account', async () => {
      const base = uniqueUsername('alice').toLowerCase();
      await register(t, base);
      for (const variant of [base.toUpperCase(), base[0].toUpperCase() + base.slice(1)]) {
        const res = await t.http().post('/api/auth/register').send({ username: variant, password: PASSWORD });
        expectErrorBody(res, 409);
      }
      const sameName = await t.connection
        .collection('users')
        .countDocuments({ username: { $in: [base, base.toUpperCase()] } });
      expect(sameName).toBe(1);
    });

    it.each([
      ['fullwidth letters "ａｌｉｃｅ"', 'ａｌｉｃｅ'],
      ['a Cyrillic "а" (U+0430) in "аlice"', '\u0430lice'],
      ['a Greek omicron in "bοb"', 'b\u03bfb'],
      ['a zero-width space in "ali\\u200bce"', 'ali\u200bce'],
      ['a combining accent in "alice\\u0301"', 'alice\u0301'],
      ['a dotless i "\\u0131"', 'al\u0131ce'],
      ['the Kelvin sign "\\u212a" (lower-cases to k)', '\u212arissy'],
      ['a NUL byte', 'alice\u0000'],
      ['a right-to-left override', 'alice\u202e'],
    ])('register with %s: 400, nobody created', async (name, username) => {
      await expectRejectedWithoutEffect(
        `register ${name}`,
        post('/api/auth/register', { username, password: PASSWORD }),
      );
    });

    it('login with a fullwidth spelling of an existing username: 400, not logged in as that user', async () => {
      const fullwidth = [...victim.username]
        .map((c) => (/[a-z0-9]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
        .join('');
      await expectRejectedWithoutEffect(
        'login fullwidth',
        post('/api/auth/login', { username: fullwidth, password: PASSWORD }),
      );
    });
  });
});
