// The steps a virtual user's lifecycles are made of, each sent to instance A or B and judged: sending and
// judging a request, presenting tokens the way a REST client or a browser does, register, login, using a
// live session, refresh, and the proof that an ended session is dead everywhere. The endings are in
// endings.mjs, the loop of lifecycles in workload.mjs.
import { randomBytes } from 'node:crypto';
import {
  checkBodyRefresh,
  checkCookieRefresh,
  checkLogin,
  checkRefusedRefresh,
  checkRefusedToken,
  checkUser,
  decodeClaims,
  judge,
  parseSetCookies,
  redactTokens,
  sameOriginHeaders,
} from './checks.mjs';

export const P_COOKIE_CLIENT = 0.3;
const P_DUPLICATE_REGISTER = 0.1;
const P_OLDER_ACCESS_TOKEN = 0.1;
const P_WRONG_TOKEN_TYPE = 0.05;
const BODY_SNIPPET_CHARS = 300;
/**
 * Uses of a live session between two refreshes, and what they are. Verify-heavy on purpose: behind a
 * forward-auth proxy every request a user makes is a verify, while refreshes come once per access-token
 * lifetime and logins once per session. Many uses per lifecycle also keep argon2 (register, login,
 * password change) a small share of the CPU, so that the run reaches its request rate on two cores.
 */
const USES_PER_ROUND = { min: 40, max: 120 };
const USE_MIX = [
  ['verify', 94],
  ['me', 4],
  ['sessions', 2],
];

export const chance = (probability) => Math.random() < probability;
export const between = (min, max) => min + Math.floor(Math.random() * (max - min + 1));
export const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A name from `[name, weight]` entries, with probability proportional to its weight. */
export function pickWeighted(entries) {
  let ticket = Math.random() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [name, weight] of entries) {
    ticket -= weight;
    if (ticket < 0) return name;
  }
  return entries[entries.length - 1][0];
}

/** A step failed and was recorded; the rest of this lifecycle has nothing to build on. */
export class LifecycleBroken extends Error {
  name = 'LifecycleBroken';
}

/** One client's session: every token it was given, newest last. */
export class Device {
  constructor(mode, user) {
    this.mode = mode;
    this.user = user;
    this.accessTokens = [];
    this.refreshTokens = [];
    this.sessionId = null;
  }

  get accessToken() {
    return this.accessTokens.at(-1);
  }

  get refreshToken() {
    return this.refreshTokens.at(-1);
  }
}

export class SessionSteps {
  constructor(index, workload) {
    this.index = index;
    this.workload = workload;
    this.recorder = workload.recorder;
    this.user = null;
    this.usersCreated = 0;
    this.lifecycleFailures = new Set();
  }

  // ---- requests and their judgement ----

  fail(failureClass, detail) {
    this.lifecycleFailures.add(failureClass);
    this.recorder.failure(failureClass, detail);
  }

  /**
   * Sends one request and judges its answer. `expect.status` is the status (or list of statuses) the
   * contract allows; `expect.revoked` says why the token must be refused, which turns a 2xx into a
   * wrongly accepted token; `expect.check` looks at a successful answer's details.
   */
  async call(kind, instance, request, expect) {
    const response = await this.workload.client.send(instance, request);
    this.recorder.request(kind, response);
    const problem = judge(response, expect);
    if (problem) {
      this.fail(problem.failureClass, {
        kind,
        instance: `${instance.name} (${instance.adapter})`,
        request: `${request.method} ${request.path}`,
        client: expect.client,
        expected: [expect.status].flat().join(' or '),
        actual: response.status ?? `no response (${response.error})`,
        reason: problem.reason,
        body: redactTokens(response.text?.slice(0, BODY_SNIPPET_CHARS)),
      });
    }
    return { response, ok: !problem };
  }

  /** A request presenting `accessToken` the way this device's kind of client does. */
  authenticated(device, accessToken, instance, method, path) {
    if (device.mode === 'body') return { method, path, headers: { authorization: `Bearer ${accessToken}` } };
    // A browser also sends the refresh cookie (Path=/api/auth) there; the guards must ignore it.
    const cookie = path.startsWith('/api/auth/')
      ? `accessToken=${accessToken}; refreshToken=${device.refreshToken}`
      : `accessToken=${accessToken}`;
    const headers = method === 'GET' ? { cookie } : { cookie, ...sameOriginHeaders(instance) };
    return { method, path, headers };
  }

  refreshRequest(device, refreshToken, instance) {
    const request = { method: 'POST', path: '/api/auth/refresh' };
    if (device.mode === 'body') return { ...request, body: { refreshToken } };
    return {
      ...request,
      headers: {
        cookie: `accessToken=${device.accessToken}; refreshToken=${refreshToken}`,
        ...sameOriginHeaders(instance),
      },
    };
  }

  /** The tokens a successful login or refresh gave this device, where its kind of client keeps them. */
  adoptTokens(device, response) {
    const cookies = parseSetCookies(response);
    const accessToken = device.mode === 'body' ? response.json.accessToken : cookies.accessToken.value;
    const refreshToken = device.mode === 'body' ? response.json.refreshToken : cookies.refreshToken.value;
    const claims = decodeClaims(accessToken);
    const problem =
      !claims || claims.sub !== device.user.id || typeof claims.sid !== 'string'
        ? `access token claims ${JSON.stringify(claims)} do not name user ${device.user.id}`
        : device.sessionId && claims.sid !== device.sessionId
          ? `a refresh moved the session from ${device.sessionId} to ${claims.sid}`
          : device.refreshTokens.includes(refreshToken)
            ? 'a refresh answered with a refresh token already used'
            : undefined;
    device.sessionId ??= claims?.sid;
    device.accessTokens.push(accessToken);
    device.refreshTokens.push(refreshToken);
    if (problem) {
      this.fail('unexpected', { kind: 'tokens', client: device.mode, reason: problem });
      throw new LifecycleBroken(problem);
    }
  }

  // ---- the steps of a lifecycle ----

  async register() {
    this.usersCreated += 1;
    const username = `soak_${this.index}_${this.usersCreated}`;
    const password = `soak-${randomBytes(9).toString('base64url')}`;
    const { response, ok } = await this.call(
      'register',
      this.workload.randomInstance(),
      { method: 'POST', path: '/api/auth/register', body: { username, password } },
      { status: 201, check: (answer) => checkUser(answer.json, username) },
    );
    if (!ok) throw new LifecycleBroken('register');
    this.user = { id: response.json.id, username, password };
    if (chance(P_DUPLICATE_REGISTER)) {
      // Unique regardless of case: the same name in capitals is taken.
      await this.call(
        'register-duplicate',
        this.workload.randomInstance(),
        { method: 'POST', path: '/api/auth/register', body: { username: username.toUpperCase(), password } },
        { status: 409 },
      );
    }
  }

  /** A login with a password that is not (or no longer) the user's: the same 401 as an unknown user. */
  async wrongPasswordLogin(
    password = `${this.user.password}-wrong`,
    kind = 'login-wrong-password',
    why = 'a wrong password',
  ) {
    await this.call(
      kind,
      this.workload.randomInstance(),
      { method: 'POST', path: '/api/auth/login', body: { username: this.user.username, password } },
      {
        status: 401,
        revoked: why,
        check: (answer) =>
          answer.json?.message === 'Invalid username or password' ? undefined : `message ${answer.json?.message}`,
      },
    );
  }

  async login(mode) {
    const { username, password } = this.user;
    const { response, ok } = await this.call(
      'login',
      this.workload.randomInstance(),
      { method: 'POST', path: '/api/auth/login', body: { username, password } },
      { status: 200, client: mode, check: checkLogin },
    );
    if (!ok) throw new LifecycleBroken('login');
    const device = new Device(mode, this.user);
    this.adoptTokens(device, response);
    return device;
  }

  /** Ordinary use of a live session: everything must be accepted, with the right identity. */
  async useSession(device) {
    const uses = between(USES_PER_ROUND.min, USES_PER_ROUND.max);
    for (let use = 0; use < uses; use++) await this.expectLive(device, device.accessToken, pickWeighted(USE_MIX));
    // Rotation retires refresh tokens, not access tokens: an earlier one of a live session still works.
    if (device.accessTokens.length > 1 && chance(P_OLDER_ACCESS_TOKEN)) {
      await this.expectLive(device, pick(device.accessTokens.slice(0, -1)), 'verify');
    }
    if (chance(P_WRONG_TOKEN_TYPE)) await this.presentWrongTokenTypes(device);
  }

  async expectLive(device, accessToken, route, instance = this.workload.randomInstance()) {
    const paths = { verify: '/api/auth/verify', me: '/api/users/me', sessions: '/api/auth/sessions' };
    const checks = {
      verify: (answer) => {
        const { 'x-user-id': userId, 'x-session-id': sessionId, 'x-user-roles': roles } = answer.headers;
        if (userId !== device.user.id || sessionId !== device.sessionId || roles !== 'user') {
          return `verify headers user ${userId} session ${sessionId} roles ${roles}, expected ${device.user.id} ${device.sessionId} user`;
        }
      },
      me: (answer) => checkUser(answer.json, device.user.username),
      sessions: (answer) => {
        if (!Array.isArray(answer.json)) return 'sessions: not an array';
        const current = answer.json.filter((session) => session.current);
        if (current.length !== 1 || current[0].id !== device.sessionId)
          return 'sessions: not exactly one current, ours';
      },
    };
    const request = this.authenticated(device, accessToken, instance, 'GET', paths[route]);
    return this.call(route, instance, request, {
      status: route === 'verify' ? 204 : 200,
      client: device.mode,
      check: checks[route],
    });
  }

  /** A refresh token is never an access token, nor the reverse. */
  async presentWrongTokenTypes(device) {
    await this.call(
      'wrong-token-type',
      this.workload.randomInstance(),
      { method: 'GET', path: '/api/auth/verify', headers: { authorization: `Bearer ${device.refreshToken}` } },
      { status: 401, revoked: 'a refresh token presented as an access token', check: checkRefusedToken },
    );
    await this.call(
      'wrong-token-type',
      this.workload.randomInstance(),
      { method: 'POST', path: '/api/auth/refresh', body: { refreshToken: device.accessToken } },
      { status: 401, revoked: 'an access token presented as a refresh token', check: checkRefusedRefresh },
    );
  }

  async refresh(device) {
    const instance = this.workload.randomInstance();
    const { response, ok } = await this.call(
      device.mode === 'body' ? 'refresh' : 'refresh-cookie',
      instance,
      this.refreshRequest(device, device.refreshToken, instance),
      { status: 200, client: device.mode, check: device.mode === 'body' ? checkBodyRefresh : checkCookieRefresh },
    );
    if (!ok) throw new LifecycleBroken('refresh');
    this.adoptTokens(device, response);
    await this.expectLive(device, device.accessToken, 'verify');
  }
}
