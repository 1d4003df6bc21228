// The guard package (packages/nest-auth-guard) in the example resource service (examples/resource-service):
// how soon a logout reaches it, and what its local verification costs against the same route unguarded.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { baseEnvironment, logIn, postJson, registerUser, spawnAppInstance } from './apps.mjs';
import { Latencies } from './load.mjs';
import { measureInterleaved, PAUSE_MS } from './measure.mjs';
import { ferretDbHelpers, ROOT, sleep, waitForHttp } from './processes.mjs';

/** Logouts measured on each auth instance: the one whose feed the example reads, and the other one. */
export const GUARD_LOGOUTS = 200;
const REFUSAL_TIMEOUT_MS = 5000;

/** Compiles the package and the example with TypeScript 5, as their own build scripts would. */
function buildExample(log) {
  log('guard: building packages/nest-auth-guard and examples/resource-service');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'packages/nest-auth-guard/tsconfig.build.json'], { cwd: ROOT });
  execFileSync(process.execPath, [tsc, '-p', 'examples/resource-service/tsconfig.build.json'], { cwd: ROOT });
}

/** From the logout's answer to the example's first 401 for that token, polled without pause. */
async function refusalDelay(example, token) {
  const answered = performance.now();
  for (;;) {
    const response = await fetch(`${example}/reports`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (response.status === 401) return performance.now() - answered;
    if (performance.now() - answered > REFUSAL_TIMEOUT_MS) {
      throw new Error(`the example still answered ${response.status} ${REFUSAL_TIMEOUT_MS} ms after a logout`);
    }
  }
}

async function measureDelays(label, auth, example, count, log) {
  const user = await registerUser(label, auth.base, 'guard');
  const delays = new Latencies();
  for (let i = 0; i < count; i++) {
    const { accessToken } = await logIn(label, auth.base, user);
    // Accepted first: the example knows the key and the session is live.
    const accepted = await fetch(`${example}/reports`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (accepted.status !== 200) throw new Error(`guard: a fresh token was answered ${accepted.status}`);
    const logout = await postJson(`${auth.base}/api/auth/logout`, {}, { authorization: `Bearer ${accessToken}` });
    if (logout.status !== 200) throw new Error(`guard: logout answered ${logout.status}`);
    delays.add(await refusalDelay(example, accessToken));
    if ((i + 1) % 50 === 0) log(`guard: ${label}: ${i + 1}/${count} logouts`);
  }
  const { p50, p99, max } = delays.summary();
  return { logouts: count, p50, p99, max };
}

/**
 * Two auth instances (EdDSA, one database, the feed on), the example reading B's key set and feed; then
 * the refusal delays of logouts on B and on A, and the guarded and unguarded routes in interleaved rounds.
 */
export async function measureGuard(processes, { database, services, options, log }) {
  buildExample(log);
  const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const feedToken = randomBytes(32).toString('base64url');
  const secrets = {
    ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
  };
  const env = {
    ACCESS_TOKEN_ALGORITHM: 'EdDSA',
    ACCESS_TOKEN_PRIVATE_KEY: privateKey,
    REVOCATION_FEED_TOKEN: feedToken,
    MONGODB_DB_NAME: 'bench_guard',
  };
  const workDir = processes.tempDir('bench-guard-');
  const spawnAuth = (id) =>
    spawnAppInstance(
      processes,
      { id, label: `Auth ${id}`, adapter: 'express', redis: false, env },
      {
        databaseUri: database.uri,
        secrets,
        workDir,
      },
    );
  const [authA, authB] = [await spawnAuth('guard-a'), await spawnAuth('guard-b')];

  const port = await ferretDbHelpers().findFreePort();
  const example = processes.spawn('Example', process.execPath, [join(ROOT, 'examples/resource-service/dist/main.js')], {
    env: {
      ...baseEnvironment(),
      NODE_ENV: 'production',
      PORT: String(port),
      AUTH_URL: authB.base,
      REVOCATION_FEED_TOKEN: feedToken,
    },
  });
  const exampleBase = `http://127.0.0.1:${port}`;
  await waitForHttp(example, `${exampleBase}/health/live`);

  log(`guard: ${GUARD_LOGOUTS} logouts on the feed's instance, then ${GUARD_LOGOUTS} on the other one`);
  const sameInstance = await measureDelays('Auth guard-b', authB, exampleBase, GUARD_LOGOUTS, log);
  await sleep(PAUSE_MS);
  const otherInstance = await measureDelays('Auth guard-a', authA, exampleBase, GUARD_LOGOUTS, log);

  const user = await registerUser('Auth guard-a', authA.base, 'guardload');
  const { accessToken } = await logIn('Auth guard-a', authA.base, user);
  const scenarios = [
    {
      id: 'example-guarded',
      label: 'Example GET /reports (guard: local verification)',
      pid: example.pid,
      load: { url: `${exampleBase}/reports`, headers: { authorization: `Bearer ${accessToken}` } },
    },
    {
      id: 'example-open',
      label: 'Example GET /public/reports (no guard)',
      pid: example.pid,
      load: { url: `${exampleBase}/public/reports` },
    },
  ];
  const [guarded, open] = await measureInterleaved(scenarios, { ...options, services, log, phase: 'guard' });
  await processes.stop([example, authA.handle, authB.handle]);
  return {
    delays: { sameInstance, otherInstance },
    throughput: { guarded, open, ratio: guarded.rps / open.rps },
  };
}

export function formatGuardMarkdown(guard) {
  const ms = (value) => `${value.toFixed(1)} ms`;
  const { sameInstance, otherInstance } = guard.delays;
  return [
    '| guard package (example resource service) | figure |',
    '| --- | --- |',
    `| logout on the feed's instance → example refuses the token: p50 / p99 / max (${sameInstance.logouts} logouts) | ${ms(sameInstance.p50)} / ${ms(sameInstance.p99)} / ${ms(sameInstance.max)} |`,
    `| logout on the other instance → example refuses the token: p50 / p99 / max (${otherInstance.logouts} logouts) | ${ms(otherInstance.p50)} / ${ms(otherInstance.p99)} / ${ms(otherInstance.max)} |`,
    `| guarded GET /reports / unguarded GET /public/reports (req/s, medians) | ${Math.round(guard.throughput.guarded.rps)} / ${Math.round(guard.throughput.open.rps)} = ${guard.throughput.ratio.toFixed(2)}× |`,
  ].join('\n');
}
