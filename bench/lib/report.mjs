// Turns a run's figures into Markdown (the results file, the docs/performance.md block), writes
// bench/results/ and, on request, the block in docs/performance.md and the chart it shows.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { barChartSvg } from './chart.mjs';
import { mibText, rpsText } from './format.mjs';
import { ROOT } from './processes.mjs';
import {
  cpuPerRequestTable,
  cpuTable,
  floodTable,
  mainTable,
  proxyCpuTable,
  proxyRows,
  proxyTable,
  roundsTable,
  rssTable,
  stormTable,
  volumeRoundsTable,
  volumeTable,
} from './tables.mjs';

/** The document that shows the latest full run, between these markers. */
export const DOCS_PAGE = 'docs/performance.md';
export const DOCS_BLOCK_START = '<!-- bench:start -->';
export const DOCS_BLOCK_END = '<!-- bench:end -->';
/** Where the chart is written, and how the page links it (relative to the page's folder). */
export const DOCS_CHART = 'docs/bench/bench-chart.svg';
const DOCS_CHART_LINK = relative(dirname(DOCS_PAGE), DOCS_CHART);

export function describeMachine() {
  const processors = cpus();
  let os = 'unknown OS';
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // Not Linux, or a minimal image: the kernel release below still says something.
  }
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown CPU',
    cpuCount: processors.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    kernel: release(),
    node: process.version,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
    commit: gitCommit(),
  };
}

function gitCommit() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** How the run was started, as a reader would type it again. */
export function commandLine(argv) {
  const args = argv.join(' ');
  const script = process.env.npm_lifecycle_event;
  if (script) return `npm run ${script}${args ? ` -- ${args}` : ''}`;
  return `node bench/run-bench.mjs${args ? ` ${args}` : ''}`;
}

const verdict = (met) => (met ? 'met' : 'not met');

function proxySection(report) {
  if (proxyRows(report).length === 0) return [];
  return [
    '## Through nginx',
    `nginx ${report.services.nginx} running deploy/nginx.conf with only its addresses changed (one nginx per ` +
      'instance: app1 that instance, app2 a second one sharing its database and Redis; one worker, no access ' +
      'log), in front of bench/baselines/' +
      'node-http-204.mjs as the protected upstream. With auth, every GET /app/… is first checked by ' +
      "auth_request with the instance's GET /api/auth/verify (a logged-in user's Bearer token); without auth, the " +
      'same requests go through a second server block of the same nginx straight to the upstream. ' +
      `${report.settings.connections} connections, median of ${report.settings.rounds} interleaved rounds × ` +
      `${report.settings.durationS} s; every answer is counted, and one that is not 2xx flags the figure.`,
    proxyTable(report),
    'Average cores busy during the measured rounds, per process on the path (the instance is idle without auth; ' +
      'the second instance behind the same nginx counts in the rest of the machine):',
    proxyCpuTable(report),
  ];
}

function targetParagraphs(report) {
  return report.targets
    .map((target) => {
      const checks = target.checks.map((check) => `${check.subject} ${check.detail}, ${verdict(check.met)}`);
      return `**${target.met ? 'Met' : 'Not met'}: ${target.title}.** ${checks.join('; ')}.`;
    })
    .join('\n\n');
}

function runDescription(report) {
  const { machine, settings } = report;
  return (
    `Measured ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpuCount} × ${machine.cpuModel}, ` +
    `${machine.memoryGiB} GiB, ${machine.os} (Linux ${machine.kernel}), Node.js ${machine.node}, ` +
    `FerretDB ${report.services.ferretdb} on SQLite, Redis ${report.services.redis}, ` +
    `${report.services.nginx ? `nginx ${report.services.nginx}, ` : ''}commit ${machine.commit}, ` +
    `with \`${report.command}\` (${report.minutes.toFixed(1)} min): ${settings.connections} connections, ` +
    `${settings.warmupS} s warm-up, median of ${settings.rounds} interleaved rounds × ${settings.durationS} s; ` +
    `logins with ${settings.loginConnections} connections. Load generator and servers share the machine; ` +
    `other processes used ${report.otherCores.toFixed(2)} cores meanwhile (median over the scenarios)` +
    `${report.otherCores > 0.2 ? ', so these figures are lower and noisier than on a quiet machine' : ''}.` +
    `${report.distRebuiltDuringRun ? ' dist/ was rebuilt during the run: the instances may run different builds.' : ''}`
  );
}

function volumeParagraphs(report) {
  const { volume, settings } = report;
  if (!volume) return [];
  const [few, many] = [volume.sessions[0], volume.sessions.at(-1)].map(rpsText);
  return [
    `Sessions stored: each instance's database was filled to ${few} sessions, then to ${many} (written straight ` +
      'into its collections, ten sessions per user, one in ten revoked), and after each filling a new user logged ' +
      `in, so the sessions checked are the newest. GET /api/auth/verify with ${volume.connections} connections; ` +
      `POST /api/auth/refresh as ${volume.connections} chains, each sending the refresh token the previous answer ` +
      `returned; median of ${settings.rounds} interleaved rounds × ${settings.durationS} s. The last column is ` +
      "FerretDB's CPU during the runs, whichever instance asked for it: work in the background that grows " +
      `with the data shows there too. Every later scenario uses a session logged in after the filling to ${many}.`,
    volumeTable(report),
  ];
}

/** The block between the docs/performance.md markers: what the page shows of the latest full run. */
export function docsBlock(report, chartPath) {
  // A --flood-only run has no throughput scenarios: no table or chart of them; a --proxy-only one, no chart.
  const chart =
    report.scenarios.length > 0
      ? [`![Requests per second per scenario, ${report.date.slice(0, 10)}](${chartPath})`]
      : [];
  const throughput = report.scenarios.length + proxyRows(report).length > 0 ? [mainTable(report), ...chart] : [];
  return [runDescription(report), ...throughput, ...volumeParagraphs(report), targetParagraphs(report)].join('\n\n');
}

const stormRateRule = (setting) => (typeof setting === 'number' ? `${setting} req/s from --storm-rate` : setting);

function floodSection(report) {
  if (report.flood.length === 0) return [];
  return [
    '## Password-change flood',
    `Other users' POST /api/auth/login sent at ${report.settings.floodLoginRate}/s (open loop, one user and ` +
      'X-Forwarded-For address after another) on an instance with the default limits behind a trusted ' +
      `loopback proxy, first alone, then while ${report.settings.floodConnections} connections of one account ` +
      'send wrong password changes as fast as they are answered (a new account and address each round); median ' +
      `of ${report.settings.rounds} alternating rounds × ${report.settings.durationS} s. Every flood answer must ` +
      'be 403, 429 or 503.',
    floodTable(report),
  ];
}

function volumeRoundsSection(report) {
  if (!report.volume) return [];
  const seeding = report.volume.instances.map(
    (entry) =>
      `${entry.instanceLabel} ${entry.stages.map((stage) => `${stage.seedSeconds.toFixed(1)} s to ${rpsText(stage.total)}`).join(', ')}`,
  );
  return [
    `The volume runs, round by round. Filling the databases took: ${seeding.join('; ')}.`,
    volumeRoundsTable(report),
  ];
}

/** What a run that measured only some scenarios is named after: 'flood-only', 'proxy-only', or undefined. */
function partialRun(report) {
  if (report.settings.proxyOnly) return 'proxy-only';
  return report.scenarios.length === 0 ? 'flood-only' : undefined;
}

export function resultsMarkdown(report, chartPath) {
  if (partialRun(report) === 'flood-only') {
    return [`# Benchmark ${report.date} (flood only)`, docsBlock(report, chartPath), ...floodSection(report)].join(
      '\n\n',
    );
  }
  if (partialRun(report) === 'proxy-only') {
    const rounds = [
      '## Rounds',
      'Requests per second of each measured round, in the order they ran.',
      roundsTable(report),
    ];
    return [`# Benchmark ${report.date} (nginx only)`, docsBlock(report), ...proxySection(report), ...rounds].join(
      '\n\n',
    );
  }
  return [
    `# Benchmark ${report.date}`,
    docsBlock(report, chartPath),
    ...proxySection(report),
    ...floodSection(report),
    '## Login storm',
    `GET /api/auth/verify sent at a fixed rate (open loop; ${stormRateRule(report.settings.stormRate)}) on one instance, first alone, then while ` +
      `${report.settings.loginConnections} connections log in as fast as they are answered; median of ` +
      `${report.settings.rounds} alternating rounds × ${report.settings.durationS} s.`,
    stormTable(report),
    '## Memory',
    `VmRSS of the instance process (warm from the throughput rounds) after ${report.settings.rssWarmupS} s of ` +
      'the same guarded requests and after the measured ones, each read after one quiet second.',
    rssTable(report),
    'The trend is the least-squares slope of RSS sampled every 2 s under load: garbage collection swings ' +
      'RSS by tens of MiB, which two readings alone can mistake for growth or shrinkage; a leak climbs.',
    report.rss
      .map((entry) => {
        const every10s = entry.samples.filter((_, index) => index % 5 === 4);
        const path = every10s.map((sample) => `${mibText(sample.rssMiB)} (${Math.round(sample.atS)} s)`);
        const readings = [`${mibText(entry.beforeMiB)} (before)`, ...path, `${mibText(entry.afterMiB)} (after)`];
        return `${entry.instanceLabel}, RSS in MiB every 10 s: ${readings.join(', ')}.`;
      })
      .join('\n\n'),
    '## Rounds',
    'Requests per second of each measured round, in the order they ran: how far apart they are tells how ' +
      'much the machine disturbed the run.',
    roundsTable(report),
    ...volumeRoundsSection(report),
    '## CPU',
    'Average cores busy during the measured rounds: CPU seconds from /proc/<pid>/stat over wall seconds. ' +
      `The machine has ${report.machine.cpuCount}. The load generator is the benchmark's own process ` +
      '(autocannon); the rest of the machine, from /proc/stat, is the idle instances and whatever else runs there.',
    cpuTable(report),
    'CPU per request in the measured rounds (all threads of each process, so argon2 counts for logins):',
    cpuPerRequestTable(report),
  ].join('\n\n');
}

export async function formatMarkdown(text) {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(join(ROOT, DOCS_PAGE))) ?? {};
    return await prettier.format(text, { ...config, parser: 'markdown' });
  } catch {
    // Prettier is a devDependency; without it the Markdown is still valid, only not column-aligned.
    return `${text}\n`;
  }
}

export async function writeResults(report) {
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = report.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const only = partialRun(report);
  if (only) {
    // A partial run (--flood-only, --proxy-only) leaves latest.* to the last full one.
    const partial = {
      [`bench-${stamp}-${only}.json`]: json,
      [`bench-${stamp}-${only}.md`]: await formatMarkdown(resultsMarkdown(report)),
    };
    for (const [name, content] of Object.entries(partial)) await writeFile(join(dir, name), content);
    return Object.keys(partial).map((name) => join('bench', 'results', name));
  }
  const markdown = await formatMarkdown(resultsMarkdown(report, 'latest.svg'));
  const svg = barChartSvg(report);
  const files = {
    [`bench-${stamp}.json`]: json,
    [`bench-${stamp}.md`]: markdown.replace('](latest.svg)', `](bench-${stamp}.svg)`),
    [`bench-${stamp}.svg`]: svg,
    'latest.json': json,
    'latest.md': markdown,
    'latest.svg': svg,
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return Object.keys(files).map((name) => join('bench', 'results', name));
}

/** Rewrites only what lies between the markers of docs/performance.md, and the chart it shows. */
export async function updateDocs(report, root = ROOT) {
  const pagePath = join(root, DOCS_PAGE);
  const page = await readFile(pagePath, 'utf8');
  const start = page.indexOf(DOCS_BLOCK_START);
  const end = page.indexOf(DOCS_BLOCK_END);
  if (start < 0 || end < start) {
    throw new Error(`${DOCS_PAGE} has no ${DOCS_BLOCK_START} … ${DOCS_BLOCK_END} block to rewrite`);
  }
  const block = (await formatMarkdown(docsBlock(report, DOCS_CHART_LINK))).trimEnd();
  const updated = `${page.slice(0, start + DOCS_BLOCK_START.length)}\n\n${block}\n\n${page.slice(end)}`;
  await writeFile(pagePath, updated);
  const chartPath = join(root, DOCS_CHART);
  await mkdir(dirname(chartPath), { recursive: true });
  await writeFile(chartPath, barChartSvg(report));
  return [DOCS_PAGE, DOCS_CHART];
}
