// The forward-auth path through a real nginx: the repository's own deploy/nginx.conf, with only its
// addresses changed, in front of the Redis-mode instances, against the same nginx proxying the same requests
// without authentication (the proxy's own ceiling). The protected upstream is the node:http ceiling.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expectStatus } from './apps.mjs';
import { isSuccess } from './format.mjs';
import { median, runClosedLoop } from './load.mjs';
import { CpuAccount, PAUSE_MS } from './measure.mjs';
import { ferretDbHelpers, findExecutable, ROOT, rssMiB, sleep } from './processes.mjs';

/**
 * The instances verify runs on, one nginx each: Fastify with Redis is the product's fast mode. Each nginx
 * has two instances behind it, as deploy/nginx.conf does (app1, app2): the one named here and a second one
 * sharing its database and Redis.
 */
const PROXIED = ['fastify-redis', 'express-redis'];
export const PROXY_SCENARIO_COUNT = 1 + PROXIED.length;
const DEPLOY_CONFIG = 'deploy/nginx.conf';
const PATH = '/app/bench';
const STOP_GRACE_MS = 5000;
const execFileAsync = promisify(execFile);

/** Debian's nginx, installed on first use when missing (as the tests do for redis-server). */
async function ensureNginx(log) {
  const found = findExecutable('nginx');
  if (found) return found;
  log('nginx not found: installing Debian package nginx (apt-get, first run only)');
  const apt = (args) =>
    execFileAsync('apt-get', args, {
      timeout: 10 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  const install = () => apt(['install', '-y', '--no-install-recommends', 'nginx']);
  try {
    await install().catch(async () => {
      await apt(['update']);
      await install();
    });
  } catch (error) {
    throw new Error(`nginx is needed by the proxy scenarios and could not be installed: ${error.message}`, {
      cause: error,
    });
  }
  const installed = findExecutable('nginx');
  if (!installed) throw new Error('apt-get installed nginx, but no nginx executable was found');
  return installed;
}

function nginxVersion(binary) {
  const { stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /nginx\/(\S+)/.exec(stderr ?? '')?.[1] ?? 'unknown';
}

/**
 * deploy/nginx.conf with its addresses replaced and nothing else; a replacement that does not match exactly
 * once is an error, so that a change in the file's shape stops the bench instead of measuring something else.
 */
export function renderDeployConfig(source, { authPorts, upstreamPort, listenPort }) {
  const replacements = [
    ['server app1:3000;', `server 127.0.0.1:${authPorts[0]};`],
    ['server app2:3000;', `server 127.0.0.1:${authPorts[1]};`],
    ['server upstream:80;', `server 127.0.0.1:${upstreamPort};`],
    ['listen 80;', `listen 127.0.0.1:${listenPort};`],
  ];
  let rendered = source;
  for (const [from, to] of replacements) {
    const count = rendered.split(from).length - 1;
    if (count !== 1) {
      throw new Error(
        `${DEPLOY_CONFIG}: \`${from}\` found ${count} times, not once; bench/lib/proxy.mjs needs updating`,
      );
    }
    rendered = rendered.replace(from, () => to);
  }
  return rendered;
}

/** The proxy's own ceiling: a server of its own, beside the file's blocks, to the same upstream. */
function noAuthServer(port) {
  return `
server {
  listen 127.0.0.1:${port};
  location / {
    proxy_pass http://protected_app;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
  }
}
`;
}

function mainConfig(dir, included) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (kind) => `  ${kind}_temp_path ${join(dir, kind)};`,
  );
  return [
    // As root the workers would run as nobody, who cannot write into a folder made with mkdtemp.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    ...temp,
    `  include ${included};`,
    '}',
    '',
  ].join('\n');
}

function childrenOf(pid) {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      const stat = readOrEmpty(`/proc/${name}/stat`);
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid);
    })
    .map(Number);
}

function readOrEmpty(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether the pid is still an nginx process (it may have exited and been reused). */
const isNginx = (pid) => readOrEmpty(`/proc/${pid}/cmdline`).startsWith('nginx');

/** One nginx whose auth_service is `instance` and `second` (app1, app2), listening on two loopback ports. */
async function startNginx(processes, binary, { instance, second, upstreamPort }) {
  const { canConnect, findFreePort } = ferretDbHelpers();
  const dir = processes.tempDir('bench-nginx-');
  const port = await findFreePort();
  let noAuthPort = await findFreePort();
  while (noAuthPort === port) noAuthPort = await findFreePort();
  const source = readFileSync(join(ROOT, DEPLOY_CONFIG), 'utf8');
  const authPorts = [instance, second].map((app) => Number(new URL(app.base).port));
  const rendered = renderDeployConfig(source, { authPorts, upstreamPort, listenPort: port });
  writeFileSync(join(dir, 'deploy-nginx.conf'), rendered + noAuthServer(noAuthPort));
  writeFileSync(join(dir, 'nginx.conf'), mainConfig(dir, join(dir, 'deploy-nginx.conf')));
  const label = `nginx (${instance.label})`;
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'];
  const handle = processes.spawn(label, binary, args);
  const errorLog = () => readOrEmpty(join(dir, 'error.log'));
  // The master listens before it forks the worker: ready once both ports accept and the worker exists.
  const deadline = Date.now() + 15_000;
  let workers = [];
  for (;;) {
    if (handle.hasExited()) throw new Error(`${label} exited:\n${handle.output()}${errorLog()}`);
    workers = childrenOf(handle.pid).filter(isNginx);
    if (workers.length > 0 && (await canConnect('127.0.0.1', port)) && (await canConnect('127.0.0.1', noAuthPort)))
      break;
    if (Date.now() > deadline) throw new Error(`${label} did not start in 15 s:\n${handle.output()}${errorLog()}`);
    await sleep(50);
  }
  // Killed by pid on Ctrl-C too: a worker whose master was SIGKILLed keeps running.
  workers.forEach((pid) => processes.adoptPid(pid));
  const stop = async () => {
    if (!handle.hasExited()) {
      handle.child.kill('SIGQUIT');
      await Promise.race([handle.exited, sleep(STOP_GRACE_MS)]);
      if (!handle.hasExited()) handle.child.kill('SIGKILL');
      await handle.exited;
    }
    for (const pid of workers.filter(isNginx)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    instance,
    url: `http://127.0.0.1:${port}${PATH}`,
    noAuthUrl: `http://127.0.0.1:${noAuthPort}${PATH}`,
    workerPid: workers[0],
    errorLog,
    stop,
  };
}

/** A proxied 2xx must be the upstream's, and a request without a token must be refused by auth_request. */
async function checkPaths(nginx) {
  const label = `nginx (${nginx.instance.label})`;
  const authorization = { authorization: `Bearer ${nginx.instance.token}` };
  await expectStatus(label, nginx.url, authorization, 204);
  await expectStatus(label, nginx.url, {}, 401);
  await expectStatus(label, nginx.noAuthUrl, authorization, 204);
}

/** Every answer is counted rather than refused by the load generator, so that a figure with failures is flagged. */
function answers(rows) {
  const statuses = {};
  for (const row of rows) {
    for (const [status, count] of Object.entries(row.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const failed = Object.entries(statuses).reduce((sum, [status, count]) => sum + (isSuccess(status) ? 0 : count), 0);
  return { statuses, failed };
}

function scenarios(proxies) {
  const [first] = proxies;
  const accept = () => true;
  const headersOf = (nginx) => ({ authorization: `Bearer ${nginx.instance.token}` });
  return [
    {
      id: 'nginx-no-auth',
      kind: 'proxy',
      label: `nginx → upstream, no auth (proxy ceiling)`,
      nginx: first,
      // The same request as with auth, token included: only the auth_request differs.
      load: { url: first.noAuthUrl, headers: headersOf(first), accept },
    },
    ...proxies.map((nginx) => ({
      id: `nginx-auth-${nginx.instance.id}`,
      kind: 'proxy-auth',
      instance: nginx.instance.id,
      instanceLabel: nginx.instance.label,
      adapter: nginx.instance.adapter,
      label: `nginx auth_request (${nginx.instance.label} verify) → upstream`,
      nginx,
      load: { url: nginx.url, headers: headersOf(nginx), accept },
    })),
  ];
}

/**
 * Warm-up, then interleaved rounds and medians as for the other scenarios, with the CPU of each process on
 * the path: the nginx worker, the instance verify runs on (idle without auth), the upstream.
 */
async function measure(list, upstreamPid, { rounds, durationS, warmupS, connections, services, log }) {
  const run = (scenario, seconds) => runClosedLoop({ ...scenario.load, connections, durationS: seconds });
  log(`nginx: warm-up, ${warmupS} s per scenario`);
  for (const scenario of list) {
    await run(scenario, warmupS);
    await sleep(PAUSE_MS);
  }
  const account = () => new CpuAccount(services);
  const state = new Map(
    list.map((scenario) => [scenario.id, { rows: [], nginx: account(), instance: account(), upstream: account() }]),
  );
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of list) {
      const { rows, nginx, instance, upstream } = state.get(scenario.id);
      const timed = () => nginx.measure(scenario.nginx.workerPid, () => run(scenario, durationS));
      const row = await upstream.measure(upstreamPid, () => instance.measure(scenario.nginx.instance.pid, timed));
      rows.push(row);
      await sleep(PAUSE_MS);
    }
    log(`nginx: round ${round}/${rounds} done`);
  }
  return list.map((scenario) => {
    const { rows, nginx, instance, upstream } = state.get(scenario.id);
    const { load: _load, nginx: proxy, ...description } = scenario;
    const cpu = { ...nginx.cores(), instance: instance.cores().server, upstream: upstream.cores().server };
    cpu.total += cpu.instance + cpu.upstream;
    cpu.other = Math.max(0, cpu.machine - cpu.total);
    return {
      ...description,
      connections,
      rps: median(rows.map((row) => row.rps)),
      p50: median(rows.map((row) => row.p50)),
      p99: median(rows.map((row) => row.p99)),
      rssMiB: rssMiB(proxy.workerPid),
      cpu,
      ...answers(rows),
      rounds: rows,
    };
  });
}

/**
 * Starts one nginx per Redis-mode instance in `instances`, measures the scenarios through them and stops
 * them (SIGQUIT, then SIGKILL) whatever happens. `ceiling`: the node:http server, the protected upstream.
 */
export async function measureProxies(processes, { instances, ceiling, measuring, startInstance }) {
  const { log } = measuring;
  const binary = await ensureNginx(log);
  const version = nginxVersion(binary);
  const upstreamPort = Number(new URL(ceiling.url).port);
  const proxies = [];
  const secondInstances = [];
  try {
    for (const id of PROXIED) {
      const { label, adapter, redis, env } = instances[id];
      const second = await startInstance({
        id: `${id}-2`,
        label: `${label} (2nd)`,
        adapter,
        redis,
        env: { ...env, MONGODB_DB_NAME: `bench_${id.replaceAll('-', '_')}` },
      });
      secondInstances.push(second);
      proxies.push(await startNginx(processes, binary, { instance: instances[id], second, upstreamPort }));
    }
    for (const nginx of proxies) await checkPaths(nginx);
    log(`nginx ${version}: ${DEPLOY_CONFIG} in front of ${PROXIED.join(' and ')}, upstream ${ceiling.url}`);
    const results = await measure(scenarios(proxies), ceiling.pid, measuring);
    const noAuth = results[0];
    for (const result of results) {
      if (result.kind === 'proxy-auth') result.ratioToNoAuth = result.rps / noAuth.rps;
      if (result.failed > 0)
        log(`warning: ${result.label}: ${result.failed} answers not 2xx (${JSON.stringify(result.statuses)})`);
    }
    for (const nginx of proxies) {
      const errors = nginx.errorLog().trim();
      if (errors) log(`nginx (${nginx.instance.label}) error log:\n${errors.split('\n').slice(-10).join('\n')}`);
    }
    return { version, scenarios: results };
  } finally {
    await Promise.all(proxies.map((nginx) => nginx.stop()));
    // Idle, they would still poll the shared database and Redis (catch-up) through every later step.
    await Promise.all(secondInstances.map((second) => second.stop()));
  }
}
