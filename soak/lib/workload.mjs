// The virtual users. Each one loops through whole session lifecycles, the way real clients use the
// service, against two instances picked at random per request, and judges every answer against
// the HTTP API (docs/http-api.md). The one thing that must never happen: a token of a session that was
// logged out, revoked or caught in refresh-token reuse being accepted anywhere, even on the very next
// request to the other instance.
//
// One lifecycle:
//   [register a new user, sometimes, and a case-variant duplicate (409), rarely]
//   [a wrong-password login (401), rarely]
//   login (a "body" client keeps the tokens from the JSON body and sends Authorization: Bearer; a
//     "cookie" client is a browser: it keeps the HttpOnly cookies and sends them back, with the
//     same-origin headers a browser adds)
//   1-4 rounds of: 2-6 uses (verify / users/me / sessions, sometimes with an older but still valid
//     access token, sometimes a token of the wrong type, which must be refused), then refresh
//     (rotation) and a verify with the new access token
//   one ending, after which every token of the session must get 401 on both instances, starting with
//   the instance that did not handle the ending:
//     logout | reuse of a superseded refresh token | N concurrent refreshes with one token (exactly
//     one may win, the rest are reuse) | logout racing a refresh | DELETE /api/auth/sessions/:own id |
//     logout-all (with a second session that must die too) | account deletion
//
// Argon2 makes register and login the expensive requests (tens of ms of CPU each), so a lifecycle
// carries about 1.3 of them against some 25 cheap ones: they run steadily without drowning the rest.
import { randomBytes } from 'node:crypto';
import { RunAborted } from './http-client.mjs';

const P_NEW_USER = 0.2;
const P_DUPLICATE_REGISTER = 0.1;
const P_WRONG_PASSWORD = 0.05;
const P_COOKIE_CLIENT = 0.3;
const P_OLDER_ACCESS_TOKEN = 0.1;
const P_WRONG_TOKEN_TYPE = 0.05;
const ENDINGS = [
  ['logout', 45],
  ['reuse', 20],
  ['refreshRace', 10],
  ['logoutRace', 10],
  ['deleteSession', 5],
  ['logoutAll', 5],
  ['deleteAccount', 5],
];
const USER_FIELDS = ['createdAt', 'id', 'roles', 'username'];
const BODY_SNIPPET_CHARS = 300;
/** Virtual users start this far apart, so that the first registrations do not all land at once. */
const START_STAGGER_MS = 100;
/**
 * Pause after a failed lifecycle: a service that refuses everything (an instance gone) would otherwise
 * be hammered in a tight loop, burying the first, telling failures under thousands of copies.
 */
const PAUSE_AFTER_FAILURE_MS = 250;

const chance = (probability) => Math.random() < probability;
const between = (min, max) => min + Math.floor(Math.random() * (max - min + 1));
const pick = (list) => list[Math.floor(Math.random() * list.length)];

function pickWeighted(entries) {
  let ticket = Math.random() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [name, weight] of entries) {
    ticket -= weight;
    if (ticket < 0) return name;
  }
  return entries[entries.length - 1][0];
}

/** A step failed and was recorded; the rest of this lifecycle has nothing to build on. */
class LifecycleBroken extends Error {
  name = 'LifecycleBroken';
}

function decodeClaims(token) {
  try {
    return JSON.parse(Buffer.from(String(token).split('.')[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

/** `Set-Cookie` lines by cookie name: `{ value, cleared, attributes }`. */
function parseSetCookies(response) {
  const cookies = {};
  for (const line of response.headers?.['set-cookie'] ?? []) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator);
    const value = decodeURIComponent(pair.slice(separator + 1));
    const expired = attributes.some(
      (attribute) => /^max-age=0$/i.test(attribute) || /^expires=.*1970/i.test(attribute),
    );
    cookies[name] = { value, cleared: value === '' || expired, attributes };
  }
  return cookies;
}

// Checks of a successful answer's shape. Each returns a description of what is wrong, or nothing.

function checkUser(json, username) {
  if (!json || typeof json !== 'object') return 'user: no JSON body';
  const fields = Object.keys(json).sort();
  if (fields.join() !== USER_FIELDS.join()) return `user: fields ${fields.join()} instead of ${USER_FIELDS.join()}`;
  if (typeof json.id !== 'string') return 'user: id is not a string';
  if (json.username !== username) return `user: username ${json.username}, expected ${username}`;
  if (JSON.stringify(json.roles) !== '["user"]') return `user: roles ${JSON.stringify(json.roles)}`;
  if (Number.isNaN(Date.parse(json.createdAt))) return 'user: createdAt is not a date';
}

function checkNoStore(response) {
  if (!/no-store/.test(response.headers['cache-control'] ?? ''))
    return 'a response with a token lacks Cache-Control: no-store';
}

function checkTokenPair(response) {
  const json = response.json;
  if (!json || typeof json.accessToken !== 'string' || typeof json.refreshToken !== 'string') return 'no token pair';
  if (json.tokenType !== 'Bearer' || !(json.expiresIn > 0)) return 'token pair: wrong tokenType or expiresIn';
  return checkNoStore(response);
}

function checkLogin(response) {
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.value || !cookies.refreshToken?.value)
    return 'login set no accessToken/refreshToken cookie';
  return checkTokenPair(response);
}

function checkBodyRefresh(response) {
  if (response.headers['set-cookie']) return 'a refresh from the body set cookies';
  return checkTokenPair(response);
}

function checkCookieRefresh(response) {
  const json = response.json;
  if (!json || 'accessToken' in json || 'refreshToken' in json)
    return 'a refresh from the cookie put tokens in the body';
  if (json.tokenType !== 'Bearer' || !(json.expiresIn > 0)) return 'cookie refresh: wrong tokenType or expiresIn';
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.value || !cookies.refreshToken?.value)
    return 'a refresh from the cookie set no new cookies';
  return checkNoStore(response);
}

function checkCookiesCleared(response) {
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.cleared || !cookies.refreshToken?.cleared) return 'both cookies were not cleared';
}

const checkMessage = (expected) => (response) =>
  response.json?.message === expected ? checkCookiesCleared(response) : `message ${response.json?.message}`;

/** A refused token on a protected route: the contract's body and WWW-Authenticate header. */
function checkRefusedToken(response) {
  if (response.json?.message !== 'Unauthorized') return `401 message ${JSON.stringify(response.json?.message)}`;
  const challenge = response.headers['www-authenticate'] ?? '';
  if (!/^Bearer\b/.test(challenge) || !/error="invalid_token"/.test(challenge)) {
    return `401 with WWW-Authenticate ${JSON.stringify(challenge)}, expected Bearer error="invalid_token"`;
  }
}

function checkRefusedRefresh(response) {
  if (response.json?.statusCode !== 401) return '401 without the error body';
}

/** One client's session: every token it was given, newest last. */
class Device {
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

export class Workload {
  constructor({ instances, client, recorder }) {
    this.instances = instances;
    this.client = client;
    this.recorder = recorder;
    this.stopRequested = false;
  }

  /** Runs `concurrency` virtual users until stop() and resolves when each has finished its lifecycle. */
  run(concurrency) {
    return Promise.all(
      Array.from({ length: concurrency }, async (_, index) => {
        await new Promise((resolveDelay) => setTimeout(resolveDelay, index * START_STAGGER_MS));
        await new VirtualUser(index, this).loop();
      }),
    );
  }

  /** No new lifecycle starts; the ones under way finish, so that every ending is checked. */
  stop() {
    this.stopRequested = true;
  }

  other(instance) {
    return this.instances.find((candidate) => candidate !== instance) ?? instance;
  }

  randomInstance() {
    return pick(this.instances);
  }
}

class VirtualUser {
  constructor(index, workload) {
    this.index = index;
    this.workload = workload;
    this.recorder = workload.recorder;
    this.user = null;
    this.usersCreated = 0;
  }

  async loop() {
    while (!this.workload.stopRequested) {
      const ending = pickWeighted(ENDINGS);
      this.lifecycleFailures = new Set();
      try {
        await this.lifecycle(ending);
        this.recorder.lifecycleEnded(ending, true, this.lifecycleFailures);
      } catch (error) {
        if (error instanceof RunAborted) return;
        if (!(error instanceof LifecycleBroken)) throw error;
        this.recorder.lifecycleEnded(ending, false, this.lifecycleFailures);
        // Whatever failed may have left the user in an unknown state: start over with a new one.
        this.user = null;
        await new Promise((resolveDelay) => setTimeout(resolveDelay, PAUSE_AFTER_FAILURE_MS));
      }
    }
  }

  async lifecycle(ending) {
    if (!this.user || chance(P_NEW_USER)) await this.register();
    if (chance(P_WRONG_PASSWORD)) await this.wrongPasswordLogin();
    const device = await this.login(chance(P_COOKIE_CLIENT) ? 'cookie' : 'body');
    const rounds = between(1, 4);
    for (let round = 0; round < rounds; round++) {
      await this.useSession(device);
      await this.refresh(device);
    }
    await this[ending](device);
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

  async wrongPasswordLogin() {
    const body = { username: this.user.username, password: `${this.user.password}-wrong` };
    await this.call(
      'login-wrong-password',
      this.workload.randomInstance(),
      { method: 'POST', path: '/api/auth/login', body },
      {
        status: 401,
        revoked: 'a wrong password',
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
    const uses = between(2, 6);
    for (let use = 0; use < uses; use++) {
      const roll = Math.random();
      if (roll < 0.6) await this.expectLive(device, device.accessToken, 'verify');
      else if (roll < 0.9) await this.expectLive(device, device.accessToken, 'me');
      else await this.expectLive(device, device.accessToken, 'sessions');
    }
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

  // ---- endings: each ends the session, then proves it is dead everywhere ----

  async logout(device) {
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'logout',
      instance,
      this.authenticated(device, device.accessToken, instance, 'POST', '/api/auth/logout'),
      { status: 200, client: device.mode, check: checkMessage('User logged out') },
    );
    if (!ok) throw new LifecycleBroken('logout');
    await this.expectDead(device, this.workload.other(instance), `logged out on ${instance.name}`);
  }

  async reuse(device) {
    const instance = this.workload.randomInstance();
    const superseded = pick(device.refreshTokens.slice(0, -1));
    await this.call('reuse-attempt', instance, this.refreshRequest(device, superseded, instance), {
      status: 401,
      client: device.mode,
      revoked: 'a superseded refresh token (reuse, REFRESH_REUSE_GRACE=0)',
      check: checkRefusedRefresh,
    });
    await this.expectDead(device, this.workload.other(instance), `refresh-token reuse on ${instance.name}`);
  }

  /** With no grace period, exactly one of N concurrent refreshes with one token wins; the others are reuse. */
  async refreshRace(device) {
    const token = device.refreshToken;
    const targets = Array.from({ length: between(2, 4) }, () => this.workload.randomInstance());
    const results = await Promise.all(
      targets.map((instance) =>
        this.call('refresh-race', instance, this.refreshRequest(device, token, instance), {
          status: [200, 401],
          client: device.mode,
        }),
      ),
    );
    const winners = results.filter(({ response }) => response.status === 200);
    const where = targets.map((instance) => instance.name).join(',');
    if (winners.length > 1) {
      this.fail('wronglyAccepted', {
        kind: 'refresh-race',
        client: device.mode,
        reason: `${winners.length} of ${targets.length} concurrent refreshes with one token succeeded (on ${where})`,
      });
    } else if (winners.length === 0 && results.every(({ ok }) => ok)) {
      this.fail('unexpected', {
        kind: 'refresh-race',
        client: device.mode,
        reason: `none of ${targets.length} concurrent refreshes with one token succeeded (on ${where})`,
      });
    }
    for (const { response } of winners) this.adoptRaceTokens(device, response);
    await this.expectDead(device, this.workload.randomInstance(), `${targets.length} concurrent refreshes (reuse)`);
  }

  /** A refresh racing a logout may win or lose, but once both have answered the session is dead. */
  async logoutRace(device) {
    const logoutAt = this.workload.randomInstance();
    const refreshAt = this.workload.randomInstance();
    const [logout, refresh] = await Promise.all([
      this.call(
        'logout-race-logout',
        logoutAt,
        this.authenticated(device, device.accessToken, logoutAt, 'POST', '/api/auth/logout'),
        { status: 200, client: device.mode, check: checkMessage('User logged out') },
      ),
      this.call('logout-race-refresh', refreshAt, this.refreshRequest(device, device.refreshToken, refreshAt), {
        status: [200, 401],
        client: device.mode,
      }),
    ]);
    if (!logout.ok) throw new LifecycleBroken('logout-race');
    if (refresh.response.status === 200) this.adoptRaceTokens(device, refresh.response);
    await this.expectDead(
      device,
      this.workload.other(logoutAt),
      `logged out on ${logoutAt.name} during a refresh on ${refreshAt.name}`,
    );
  }

  async deleteSession(device) {
    const instance = this.workload.randomInstance();
    const path = `/api/auth/sessions/${device.sessionId}`;
    const { ok } = await this.call(
      'delete-session',
      instance,
      this.authenticated(device, device.accessToken, instance, 'DELETE', path),
      { status: 204, client: device.mode },
    );
    if (!ok) throw new LifecycleBroken('delete-session');
    await this.expectDead(device, this.workload.other(instance), `own session deleted on ${instance.name}`);
  }

  async logoutAll(device) {
    const second = await this.login(chance(P_COOKIE_CLIENT) ? 'cookie' : 'body');
    await this.expectLive(second, second.accessToken, 'verify');
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'logout-all',
      instance,
      this.authenticated(device, device.accessToken, instance, 'POST', '/api/auth/logout-all'),
      { status: 200, client: device.mode, check: checkMessage('Logged out of all sessions') },
    );
    if (!ok) throw new LifecycleBroken('logout-all');
    const why = `logout-all on ${instance.name}`;
    await this.expectDead(device, this.workload.other(instance), why);
    await this.expectDead(second, this.workload.other(instance), `${why} (the user's other session)`);
  }

  async deleteAccount(device) {
    const instance = this.workload.randomInstance();
    const { ok } = await this.call(
      'delete-account',
      instance,
      this.authenticated(device, device.accessToken, instance, 'DELETE', '/api/users/me'),
      { status: 204, client: device.mode },
    );
    if (!ok) throw new LifecycleBroken('delete-account');
    this.user = null;
    await this.expectDead(device, this.workload.other(instance), `account deleted on ${instance.name}`);
  }

  /** Tokens from a race's successful refresh: kept so that the death check covers them too. */
  adoptRaceTokens(device, response) {
    const cookies = parseSetCookies(response);
    const accessToken = device.mode === 'body' ? response.json?.accessToken : cookies.accessToken?.value;
    const refreshToken = device.mode === 'body' ? response.json?.refreshToken : cookies.refreshToken?.value;
    if (accessToken && !device.accessTokens.includes(accessToken)) device.accessTokens.push(accessToken);
    if (refreshToken && !device.refreshTokens.includes(refreshToken)) device.refreshTokens.push(refreshToken);
  }

  /**
   * The session has ended: its newest access and refresh tokens, and an older access token, must be
   * refused on both instances, the first request going to `first` right after the ending's answer.
   */
  async expectDead(device, first, why) {
    const second = this.workload.other(first);
    const refusedAccess = (instance, accessToken, route, detail = '') =>
      this.call(
        route === 'verify' ? 'revoked-verify' : 'revoked-me',
        instance,
        this.authenticated(
          device,
          accessToken,
          instance,
          'GET',
          route === 'verify' ? '/api/auth/verify' : '/api/users/me',
        ),
        { status: 401, client: device.mode, revoked: `access token${detail}, ${why}`, check: checkRefusedToken },
      );
    const refusedRefresh = (instance) =>
      this.call('revoked-refresh', instance, this.refreshRequest(device, device.refreshToken, instance), {
        status: 401,
        client: device.mode,
        revoked: `newest refresh token, ${why}`,
        check: checkRefusedRefresh,
      });

    await refusedAccess(first, device.accessToken, 'verify');
    await refusedAccess(second, device.accessToken, 'verify');
    await refusedAccess(pick([first, second]), device.accessToken, 'me');
    await refusedRefresh(first);
    await refusedRefresh(second);
    if (device.accessTokens.length > 1) {
      await refusedAccess(this.workload.randomInstance(), pick(device.accessTokens.slice(0, -1)), 'verify', ' (older)');
    }
  }
}

/** Results files get shared: the run's tokens (worthless after it, but noise) are shown by kind only. */
function redactTokens(text) {
  return text
    ?.replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '<access token>')
    .replace(/[a-f0-9]{24}\.\d+\.[\w-]{43}/g, '<refresh token>');
}

function sameOriginHeaders(instance) {
  // What a browser adds to a same-origin fetch: the CSRF policy must let it through.
  return { origin: instance.baseUrl, 'sec-fetch-site': 'same-origin' };
}

function judge(response, expect) {
  if (response.error) return { failureClass: 'unexpected', reason: `no response: ${response.error}` };
  if (response.status >= 500) return { failureClass: 'serverError', reason: `${response.status} from the server` };
  const allowed = [expect.status].flat();
  if (!allowed.includes(response.status)) {
    if (expect.revoked && response.status >= 200 && response.status < 300) {
      return { failureClass: 'wronglyAccepted', reason: `accepted: ${expect.revoked}` };
    }
    return { failureClass: 'unexpected', reason: `status ${response.status}, expected ${allowed.join(' or ')}` };
  }
  const problem = response.status < 300 || expect.revoked ? expect.check?.(response) : undefined;
  return problem ? { failureClass: 'unexpected', reason: problem } : null;
}
