// The servers under test: production instances of dist/main.js and the two baselines.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ferretDbHelpers, ROOT, waitForHttp, waitForReadyLine } from './processes.mjs';

const PASSWORD = 'bench-password-123';

/** Only what a server needs from this shell: a developer's own REDIS_URL or LOG_FILE must not leak in. */
export function baseEnvironment() {
  const kept = ['PATH', 'HOME', 'LANG', 'TZ', 'XDG_CACHE_HOME', 'UV_THREADPOOL_SIZE'];
  return Object.fromEntries(kept.filter((name) => process.env[name] !== undefined).map((n) => [n, process.env[n]]));
}

/**
 * Starts `node dist/main.js` as production would run it (the pid is the Node.js process itself, so /proc
 * figures are the app's) and waits until it answers. `instance`: { id, label, adapter: 'express' |
 * 'fastify', redis: boolean, env?: variables that override the bench's own (the flood scenario runs with
 * the product's limits on) }; `nodeArgs`: flags for node itself (--cpu-prof is refused in NODE_OPTIONS).
 */
export async function spawnAppInstance(
  processes,
  instance,
  { databaseUri, redisUrl, secrets, workDir, nodeArgs = [] },
) {
  const port = await ferretDbHelpers().findFreePort();
  const env = {
    ...baseEnvironment(),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    NO_COLOR: '1',
    // A log line per request would make this a benchmark of the logger writing into a pipe.
    LOG_LEVEL: 'warn',
    HTTP_ADAPTER: instance.adapter,
    MONGODB_URI: databaseUri,
    MONGODB_DB_NAME: `bench_${instance.id.replaceAll('-', '_')}`,
    ...(instance.redis ? { REDIS_URL: redisUrl } : {}),
    ...secrets,
    // No token may expire during a run; the limits are off, or the figures would be those of 429s.
    ACCESS_TOKEN_EXPIRY: '2h',
    AUTH_RATE_LIMIT: '0',
    LOGIN_MAX_FAILURES: '1000000',
    ...instance.env,
  };
  // A working folder of its own, so that a developer's .env in the project is not read.
  const args = [...nodeArgs, join(ROOT, 'dist/main.js')];
  const handle = processes.spawn(instance.label, process.execPath, args, { env, cwd: workDir });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(handle, `${base}/health/live`);
  return { handle, base, databaseName: env.MONGODB_DB_NAME };
}

/** spawnAppInstance, then the users the scenarios need registered. */
export async function startAppInstance(processes, instance, options) {
  const { handle, base, databaseName } = await spawnAppInstance(processes, instance, options);
  const users = await prepareUsers(instance.label, base);
  const stop = () => processes.stop([handle]);
  return { ...instance, base, pid: handle.pid, databaseName, stop, ...users };
}

export async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

/** A new user of the instance, registered through the API; `prefix` tells the bench's users apart. */
export async function registerUser(label, base, prefix) {
  const user = { username: `${prefix}_${randomBytes(4).toString('hex')}`, password: PASSWORD };
  const registered = await postJson(`${base}/api/auth/register`, user);
  if (registered.status !== 201) throw new Error(`${label}: register answered ${registered.status}`);
  return user;
}

/** A new session of `user`: its token pair `{ accessToken, refreshToken, … }`. */
export async function logIn(label, base, user) {
  const login = await postJson(`${base}/api/auth/login`, user);
  if (login.status !== 200) throw new Error(`${label}: login answered ${login.status}`);
  return login.body;
}

/** Two users: one whose live token the guarded scenarios send, one that the login scenarios log in. */
async function prepareUsers(label, base) {
  const verifyUser = await registerUser(label, base, 'bench_v');
  const loginUser = await registerUser(label, base, 'bench_l');
  const token = (await logIn(label, base, verifyUser)).accessToken;
  await expectStatus(label, `${base}/api/auth/verify`, { authorization: `Bearer ${token}` }, 204);
  await expectStatus(label, `${base}/api/auth/verify`, {}, 401);
  return { token, loginBody: JSON.stringify(loginUser) };
}

/** A guarded route must refuse without a token, or its figure could be that of an unguarded one. */
export async function expectStatus(label, url, headers, expected) {
  const response = await fetch(url, { headers });
  if (response.status !== expected) {
    throw new Error(`${label}: GET ${url} answered ${response.status}, not ${expected}`);
  }
}

/** A baseline that answers GET / with 204 and prints its ready line: the node:http ceiling, bare Express. */
async function startBaseline204(processes, label, script) {
  const handle = processes.spawn(label, process.execPath, [join(ROOT, script)], { env: baseEnvironment() });
  const { port } = await waitForReadyLine(handle);
  const url = `http://127.0.0.1:${port}/`;
  await expectStatus(label, url, {}, 204);
  return { pid: handle.pid, url };
}

export const startCeiling = (processes) =>
  startBaseline204(processes, 'node:http ceiling', 'bench/baselines/node-http-204.mjs');

export const startBareExpress = (processes) =>
  startBaseline204(processes, 'bare Express', 'bench/baselines/express-204.mjs');

export async function startTutorial(processes, { databaseUri, secret }) {
  const handle = processes.spawn(
    'tutorial baseline',
    process.execPath,
    [join(ROOT, 'bench/baselines/tutorial-express.mjs')],
    {
      env: {
        ...baseEnvironment(),
        NODE_ENV: 'production',
        MONGODB_URI: databaseUri,
        MONGODB_DB_NAME: 'bench_tutorial',
        ACCESS_TOKEN_SECRET: secret,
      },
    },
  );
  const { port, token } = await waitForReadyLine(handle);
  const url = `http://127.0.0.1:${port}/api/auth/verify`;
  await expectStatus('tutorial baseline', url, { authorization: `Bearer ${token}` }, 204);
  await expectStatus('tutorial baseline', url, {}, 401);
  return { pid: handle.pid, url, token };
}
