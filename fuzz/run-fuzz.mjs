// Property-based fuzzing of the production build with Schemathesis, driven by the OpenAPI document
// the app serves at /docs-json.
//
//   npm run fuzz                      # = nest build && node fuzz/run-fuzz.mjs
//   npm run fuzz -- --phases fuzzing  # extra arguments go to `st run` as they are
//
// What it does, all on loopback, and stops everything it started even when something fails:
//   1. a Python virtual environment in .venv-fuzz/ with the pinned fuzz/requirements.txt (reused while
//      the requirements file is unchanged);
//   2. FerretDB (the compiled helper in dist/) on a free port, with its data in a temporary folder;
//   3. `node dist/main.js` with NODE_ENV=production, fresh secrets and a free port;
//   4. a fuzz user (registered and logged in here) whose bearer token is handed to Schemathesis through
//      fuzz/hooks.py, plus the start-up administrator for GET /api/users, which needs role admin;
//   5. `st run <base>/docs-json` with Schemathesis' default checks (all of them: not_a_server_error,
//      status_code_conformance, content_type_conformance, response_schema_conformance, ...) and its
//      default phases (examples, coverage, fuzzing, stateful; the stateful phase follows the links of
//      the document, those Schemathesis infers, and register -> login -> refresh links that
//      fuzz/hooks.py adds while the document declares none there);
//   6. the reports in test-output/fuzz/: junit.xml, schemathesis.log (the console output, with a curl
//      line per failure), cassette.yaml (every request and response), app.log, openapi.json.
// It exits non-zero on any failure, on any error, and when the run exceeds its time limit.
// The server is gone when the run ends; to replay the failures against one you started yourself:
//   cd test-output/fuzz && ../../.venv-fuzz/bin/st replay --url http://127.0.0.1:3000 \
//     --schema-location http://127.0.0.1:3000/docs-json
//
// Environment:
//   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 50)
//   FUZZ_TIMEOUT       seconds the Schemathesis run may take before it is interrupted and the run
//                      fails (default 240)
//   FUZZ_WORKERS       concurrent Schemathesis workers (default 2)
//   FUZZ_SEED          seed, to repeat a run (the seed of each run is printed at its end)
//   PYTHON             interpreter used to create the virtual environment (default python3)
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = resolve(new URL('.', import.meta.url).pathname, '..');
const OUT = join(ROOT, 'test-output', 'fuzz');
const VENV = join(ROOT, '.venv-fuzz');
const REQUIREMENTS = join(ROOT, 'fuzz', 'requirements.txt');
const HOOKS = join(ROOT, 'fuzz', 'hooks.py');

const positiveInt = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
};
const MAX_EXAMPLES = positiveInt('FUZZ_MAX_EXAMPLES', 50);
const TIMEOUT_S = positiveInt('FUZZ_TIMEOUT', 240);
const WORKERS = positiveInt('FUZZ_WORKERS', 2);
const SEED = process.env.FUZZ_SEED;
const EXTRA_ST_ARGS = process.argv.slice(2);

const children = [];
const cleanups = [];
// Last resort if the script dies without reaching its `finally`.
process.on('exit', () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal} received, stopping`);
    process.exitCode = 130;
    stopAll().finally(() => process.exit());
  });
}

const log = (message) => console.error(`[fuzz] ${message}`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

/** The venv is reused while it was installed from the same requirements file. */
function ensureVenv() {
  const python = join(VENV, 'bin', 'python');
  const stamp = join(VENV, '.requirements.sha256');
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (!existsSync(python)) {
    log(`creating ${relative(ROOT, VENV)}/`);
    run(process.env.PYTHON ?? 'python3', ['-m', 'venv', VENV]);
  }
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== wanted) {
    log(`installing ${relative(ROOT, REQUIREMENTS)} into ${relative(ROOT, VENV)}/`);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', REQUIREMENTS]);
    writeFileSync(stamp, `${wanted}\n`);
  }
  return join(VENV, 'bin', 'st');
}

async function startDatabase() {
  const { ensureFerretDbBinary, startFerretDb } = require(join(ROOT, 'dev/embedded-database/ferretdb-server.js'));
  const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
  const binary = await ensureFerretDbBinary(cacheDir, log);
  const dataDir = await mkdtemp(join(tmpdir(), 'fuzz-db-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const database = await startFerretDb({ binary, dataDir, database: 'fuzz' });
  cleanups.push(() => database.stop());
  return database;
}

async function startApp(mongodbUri, admin) {
  const { findFreePort } = require(join(ROOT, 'dev/embedded-database/ferretdb-server.js'));
  const port = await findFreePort();
  const base = `http://127.0.0.1:${port}`;
  const appLog = createWriteStream(join(OUT, 'app.log'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    cwd: ROOT,
    // Only what the app needs: no variable of the caller's shell (REDIS_URL, CORS_ORIGINS, ...) leaks in.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      MONGODB_URI: mongodbUri,
      ACCESS_TOKEN_SECRET: randomBytes(48).toString('base64url'),
      REFRESH_TOKEN_SECRET: randomBytes(48).toString('base64url'),
      // fuzz/hooks.py re-logs in every 10 minutes at most, within this lifetime.
      ACCESS_TOKEN_EXPIRY: '15m',
      // Rate limits off: with them on, the fuzzer would mostly measure the limiter (429 after 100
      // requests a minute to /api/auth/*, and after 5 failed logins per username). Both are tested
      // by the e2e and security suites; here they would only hide the handlers behind 429s.
      AUTH_RATE_LIMIT: '0',
      PASSWORD_CHANGE_RATE_LIMIT: '0',
      LOGIN_MAX_FAILURES: '1000000',
      ADMIN_USERNAME: admin.username,
      ADMIN_PASSWORD: admin.password,
      // Warnings and errors only (a 5xx is logged with its cause), not a line per request.
      LOG_LEVEL: 'warn',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout.pipe(appLog, { end: false });
  child.stderr.pipe(appLog, { end: false });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((done) => appLog.end(done));
  });

  // At LOG_LEVEL=warn the "Listening on" line (info) is not printed, so readiness is polled instead.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the app exited with ${child.exitCode}; see ${relative(ROOT, OUT)}/app.log`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) return base;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`the app did not answer on ${base}/health within 30 s; see ${relative(ROOT, OUT)}/app.log`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

async function postJson(base, path, body) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

async function loginToken(base, credentials) {
  const login = await postJson(base, '/api/auth/login', credentials);
  if (login.status !== 200) throw new Error(`login as ${credentials.username} answered ${login.status}: ${login.body}`);
  const { accessToken } = JSON.parse(login.body);
  const check = await fetch(`${base}/api/auth/verify`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (check.status !== 204) throw new Error(`GET /api/auth/verify with the fuzz token answered ${check.status}`);
  return accessToken;
}

async function createFuzzUser(base, password) {
  const credentials = { username: `fuzz_${randomBytes(4).toString('hex')}`, password };
  const registration = await postJson(base, '/api/auth/register', credentials);
  if (registration.status !== 201)
    throw new Error(`registering the fuzz user answered ${registration.status}: ${registration.body}`);
  return { ...credentials, accessToken: await loginToken(base, credentials) };
}

function runSchemathesis(st, base, env) {
  const args = [
    'run',
    `${base}/docs-json`,
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    String(WORKERS),
    '--report',
    'junit,vcr',
    '--report-junit-path',
    join(OUT, 'junit.xml'),
    '--report-vcr-path',
    join(OUT, 'cassette.yaml'),
    '--no-color',
    // Every distinct failure of an operation, not only its first: one run gives the whole list.
    '--continue-on-failure',
    // Show tokens and passwords in curl lines and the cassette: all of them belong to this run's
    // throwaway database and secrets, and a "[Filtered]" curl line reproduces nothing.
    '--output-sanitize',
    'false',
    ...(SEED ? ['--seed', SEED] : []),
    ...EXTRA_ST_ARGS,
  ];
  log(`st ${args.join(' ')}`);
  const output = createWriteStream(join(OUT, 'schemathesis.log'));
  // Run from test-output/fuzz/: Schemathesis keeps its example database (.hypothesis/) and crash
  // store (.schemathesis/) in its working directory, and they belong with the reports.
  const child = spawn(st, args, { cwd: OUT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      process.stdout.write(chunk);
      output.write(chunk);
    });
  }
  return new Promise((done) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log(
        `Schemathesis still running after FUZZ_TIMEOUT=${TIMEOUT_S} s: interrupting it (its reports are still written)`,
      );
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }, TIMEOUT_S * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      output.end(() => done({ code: code ?? (signal ? 128 : 1), timedOut }));
    });
  });
}

async function stopAll() {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch((error) => log(`cleanup failed: ${error.message}`));
}

async function main() {
  const started = Date.now();
  await mkdir(OUT, { recursive: true });
  for (const file of [
    'junit.xml',
    'cassette.yaml',
    'schemathesis.log',
    'app.log',
    'openapi.json',
    'auth-summary.json',
  ]) {
    await rm(join(OUT, file), { force: true });
  }
  const st = ensureVenv();
  const database = await startDatabase();
  const admin = {
    username: `fuzz_admin_${randomBytes(3).toString('hex')}`,
    password: randomBytes(24).toString('base64url'),
  };
  const base = await startApp(database.uri, admin);
  log(`app (production build) on ${base}, FerretDB on ${database.uri}`);
  log(
    'rate limits off for this run (AUTH_RATE_LIMIT=0, PASSWORD_CHANGE_RATE_LIMIT=0, LOGIN_MAX_FAILURES=1000000): the fuzzer tests handlers, not 429s',
  );

  const documentText = await (await fetch(`${base}/docs-json`)).text();
  writeFileSync(join(OUT, 'openapi.json'), documentText);
  // The fuzz user's password is the document's example of currentPassword, so that the example the
  // fuzzer sends to PATCH /api/users/me/password is right and the 204 path is exercised too.
  const document = JSON.parse(documentText);
  const examplePassword = document.components?.schemas?.ChangePasswordDto?.properties?.currentPassword?.example;
  const fuzzPassword =
    typeof examplePassword === 'string' && examplePassword.length >= 8
      ? examplePassword
      : randomBytes(24).toString('base64url');
  const user = await createFuzzUser(base, fuzzPassword);
  const adminToken = await loginToken(base, admin);
  log(`fuzz user ${user.username} logged in; its bearer token goes to every operation that declares security`);

  const result = await runSchemathesis(st, base, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: process.env.LANG ?? 'C.UTF-8',
    SCHEMATHESIS_HOOKS: HOOKS,
    // No fuzz/__pycache__/ next to the hooks.
    PYTHONDONTWRITEBYTECODE: '1',
    FUZZ_BASE_URL: base,
    FUZZ_USERNAME: user.username,
    FUZZ_PASSWORD: user.password,
    FUZZ_ACCESS_TOKEN: user.accessToken,
    FUZZ_ADMIN_USERNAME: admin.username,
    FUZZ_ADMIN_PASSWORD: admin.password,
    FUZZ_ADMIN_ACCESS_TOKEN: adminToken,
    FUZZ_AUTH_SUMMARY: join(OUT, 'auth-summary.json'),
  });

  await stopAll();
  const appLog = await readFile(join(OUT, 'app.log'), 'utf8').catch(() => '');
  const appErrors = appLog.split('\n').filter((line) => /"level":(50|60)/.test(line)).length;
  const auth = await readFile(join(OUT, 'auth-summary.json'), 'utf8').then(JSON.parse, () => undefined);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log('');
  log(`reports: ${relative(ROOT, OUT)}/{schemathesis.log,junit.xml,cassette.yaml,app.log,openapi.json}`);
  if (auth) {
    log(
      `re-logins after the fuzzer ended the session: ${auth.relogins} (fuzz user; ${auth.registrations} of them as a newly registered user, the account having been deleted), ${auth.admin_relogins} (admin)`,
    );
    if (auth.added_links.length > 0)
      log(`links added by fuzz/hooks.py, as the document has none there: ${auth.added_links.join('; ')}`);
  }
  if (appErrors > 0) log(`the app logged ${appErrors} error lines: see ${relative(ROOT, OUT)}/app.log`);
  if (result.timedOut) {
    log(
      `FAILED: the run exceeded FUZZ_TIMEOUT=${TIMEOUT_S} s (lower FUZZ_MAX_EXAMPLES or raise FUZZ_TIMEOUT); ${seconds} s in all`,
    );
    process.exitCode = 1;
  } else if (result.code !== 0) {
    log(`FAILED: Schemathesis exited with ${result.code}; ${seconds} s in all`);
    process.exitCode = result.code;
  } else {
    log(`passed in ${seconds} s`);
  }
}

main()
  .catch(async (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    // Streams and sockets of stopped children must not keep the process alive.
    setTimeout(() => process.exit(), 500).unref();
  });
