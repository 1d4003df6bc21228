// The run in words (the summary printed at the end), in data (soak/results/*.json) and as a plot
// (soak/results/*.svg, and docs/performance/soak-plot.svg for a full default run).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './cluster.mjs';
import { formatCpu } from './cpu.mjs';
import { MIN_REQUESTS_PER_SECOND, signed } from './criteria.mjs';
import { DEFAULT_DURATION_S, DEFAULT_SESSIONS } from './options.mjs';
import { FAILURE_CLASSES, WINDOW_SECONDS, WINDOWED_KINDS } from './stats.mjs';
import { renderSoakPlot } from './svg-plot.mjs';

const RESULTS_DIR = join(ROOT, 'soak', 'results');
const PUBLISHED_PLOT = join(ROOT, 'docs', 'performance', 'soak-plot.svg');
const EXAMPLES_PRINTED = 5;
/** The plot's throughput line: a moving average, since per-second counts jitter with every GC pause. */
const THROUGHPUT_AVERAGE_S = 10;

const pad = (value, width) => String(value ?? '-').padStart(width);
const thousands = (value) => Number(value ?? 0).toLocaleString('en-US');
const joinCounts = (counts, separator = ', ', sign = ' ') =>
  Object.entries(counts)
    .map(([name, count]) => `${name}${sign}${count}`)
    .join(separator);

export function printSummary(report) {
  const { config, totals, kinds, failures, instances, lifecycles, seeding } = report;
  const names = config.instances.map((instance) => `${instance.name} (${instance.adapter})`).join(' and ');
  const lines = ['', `Soak: ${totals.loadSeconds} s of load at ${config.concurrency} virtual users against ${names},`];
  lines.push(`      shared FerretDB ${config.versions.ferretDb} + Redis ${config.versions.redis}, ${config.machine}`);
  lines.push(
    `      seeded before the load: ${thousands(seeding.sessions)} sessions of ${thousands(seeding.users)} users ` +
      `(${seeding.seconds} s)`,
  );
  if (report.interruption) lines.push(`      INTERRUPTED: ${report.interruption}`);
  lines.push(
    `Lifecycles: ${lifecycles.completed} completed (${joinCounts(lifecycles.endings)}), ` +
      `${lifecycles.abandoned} abandoned after a failure`,
  );
  for (const [ending, byClass] of Object.entries(lifecycles.withFailures)) {
    lines.push(`  ${ending} lifecycles with failures: ${joinCounts(byClass, ', ', ' in ')}`);
  }
  lines.push(
    `Requests: ${totals.requestsDuringLoad} during the load = ${totals.loadRequestsPerSecond} req/s; ` +
      `${totals.requests} in all, drain ${totals.drainSeconds} s`,
  );
  lines.push(
    '',
    `  ${'kind'.padEnd(22)}${pad('requests', 9)}${pad('share', 7)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}  statuses`,
  );
  for (const [kind, entry] of Object.entries(kinds)) {
    const share = `${((100 * entry.requests) / totals.requests).toFixed(1)}%`;
    const { p50, p99, max } = entry.latencyMs;
    lines.push(
      `  ${kind.padEnd(22)}${pad(entry.requests, 9)}${pad(share, 7)}${pad(p50, 9)}${pad(p99, 9)}${pad(max, 9)}  ` +
        joinCounts(entry.statuses, ' ', ':'),
    );
  }
  lines.push('', `Over time (${WINDOW_SECONDS} s windows), latency p50/p99 ms:`);
  lines.push(`  ${pad('from s', 7)}${pad('req/s', 8)}${WINDOWED_KINDS.map((kind) => pad(kind, 17)).join('')}`);
  for (const window of report.windows) {
    const cells = WINDOWED_KINDS.map((kind) => {
      const latency = window.latencyMs[kind];
      return pad(latency ? `${Math.round(latency.p50)}/${Math.round(latency.p99)}` : '-', 17);
    });
    lines.push(`  ${pad(window.fromSecond, 7)}${pad(window.requestsPerSecond, 8)}${cells.join('')}`);
  }
  lines.push('');
  for (const failureClass of FAILURE_CLASSES) {
    for (const example of failures.examples[failureClass].slice(0, EXAMPLES_PRINTED)) {
      lines.push(`  [${failureClass}] ${JSON.stringify(example)}`);
    }
  }
  for (const instance of instances) {
    const { rssMB: rss, heapUsedMB: heap, eventLoopDelayMs: delay, log, rssGrowth, heapGrowth } = instance;
    lines.push(`Instance ${instance.name} (${instance.adapter}, pid ${instance.pid}):`);
    lines.push(
      `  RSS MB: before the load ${rss.idle}, first second ${rss.first}, end ${rss.end}, max ${rss.max}; ` +
        `growth ${signed(rssGrowth.growthPercent)} % (${rssGrowth.baselineMB} -> ${rssGrowth.endMB})`,
    );
    lines.push(
      `  heap used MB: first ${heap.first}, end ${heap.end}, max ${heap.max}; ` +
        `growth ${signed(heapGrowth.growthPercent)} % (${heapGrowth.baselineMB} -> ${heapGrowth.endMB})`,
    );
    lines.push(
      `  event-loop delay ms: p99 per second median ${delay.p99Median}, max ${delay.p99Max}; p50 median ${delay.p50Median}; longest stall ${delay.max}`,
    );
    lines.push(
      `  log: audit events ${joinCounts(log.auditEvents) || 'none'}; other warnings ${log.warn}, errors ${log.error}`,
    );
    for (const example of log.examples) lines.push(`    ${example}`);
  }
  lines.push(
    `Load generator event-loop delay ms: p99 ${report.loadGenerator.eventLoopDelayP99Ms}, max ${report.loadGenerator.eventLoopDelayMaxMs}`,
    ...(report.cpu ? formatCpu(report.cpu) : []),
    '',
  );
  for (const { name, passed, detail } of report.criteria) {
    lines.push(`${passed === null ? 'INFO' : passed ? 'ok  ' : 'FAIL'}  ${name}: ${detail}`);
  }
  const failed = report.criteria.filter((criterion) => criterion.passed === false);
  lines.push(
    '',
    report.passed ? 'PASS' : `FAIL: ${failed.map(({ name, detail }) => `${name} (${detail})`).join('; ')}`,
  );
  console.log(lines.join('\n'));
}

/**
 * A run of the full default length and seeding that was not interrupted, passing or not: its plot
 * shows the behaviour over the whole run, and its subtitle says whether the run passed.
 */
const worthPublishing = (report) =>
  report.totals.loadSeconds >= DEFAULT_DURATION_S &&
  (report.seeding?.requested ?? 0) >= DEFAULT_SESSIONS &&
  !report.interruption;

function publish(report, svg, written) {
  if (!worthPublishing(report)) return;
  mkdirSync(dirname(PUBLISHED_PLOT), { recursive: true });
  writeFileSync(PUBLISHED_PLOT, svg);
  written.push(PUBLISHED_PLOT);
}

/** Writes the report and its plot; returns the paths written, relative to the repository. */
export function writeResults(report, svg) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const written = [];
  for (const [name, content] of [
    [`soak-${stamp}.json`, json],
    [`soak-${stamp}.svg`, svg],
    ['latest.json', json],
    ['latest.svg', svg],
  ]) {
    writeFileSync(join(RESULTS_DIR, name), content);
    written.push(join(RESULTS_DIR, name));
  }
  publish(report, svg, written);
  return written.map((path) => path.slice(ROOT.length + 1));
}

/** Over the `seconds` before each second (fewer at the start), up to the end of the load. */
function movingAverage(perSecond, seconds, until) {
  const points = [];
  for (let end = 1; end <= Math.floor(until); end++) {
    const slice = perSecond.slice(Math.max(0, end - seconds), end);
    points.push([end, Math.round(slice.reduce((sum, count) => sum + count, 0) / slice.length)]);
  }
  return points;
}

/** The SVG of a results report; also used by --replot, so that a plot can be redrawn from its data. */
export function plotReport(report) {
  const { config, totals, failures, startedAt, passed, seeding } = report;
  const counts = failures.counts;
  const growth = report.instances
    .map((instance) => `${instance.name} ${signed(instance.rssGrowth?.growthPercent)} %`)
    .join(', ');
  return renderSoakPlot({
    instances: report.timeline.instances.map((instance, index) => ({
      name: instance.name,
      adapter: config.instances[index].adapter,
      rss: instance.rssMB,
      heap: instance.heapUsedMB,
      eventLoopP99: instance.eventLoopDelayMs.samples.map(([at, , p99]) => [at, p99]),
    })),
    throughput: movingAverage(report.timeline.requestsPerSecond, THROUGHPUT_AVERAGE_S, totals.loadSeconds),
    throughputLabel: `all requests, ${THROUGHPUT_AVERAGE_S} s average`,
    targetRequestsPerSecond: MIN_REQUESTS_PER_SECOND,
    memoryWindows: report.instances[0]?.rssGrowth,
    loadSeconds: totals.loadSeconds,
    title: `secure-logout-jwt soak: ${totals.loadSeconds} s, ${config.concurrency} virtual users, two instances sharing FerretDB + Redis`,
    subtitle: [
      `${startedAt.slice(0, 16).replace('T', ' ')} UTC, ${config.machine}; ${thousands(seeding?.sessions)} sessions ` +
        `seeded before the load`,
      `${thousands(totals.requestsDuringLoad)} requests, ${totals.loadRequestsPerSecond} req/s; revoked tokens accepted ` +
        `${counts.wronglyAccepted}, 5xx ${counts.serverError}, other violations ${counts.unexpected}; RSS growth ${growth}: ` +
        (passed ? 'PASS' : 'FAIL'),
    ],
  });
}

/** `--replot <results.json>`: redraws its SVG next to it (and the published copy, if it qualifies). */
export function replot(resultsFile) {
  const report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const svg = plotReport(report);
  const target = resultsFile.replace(/\.json$/, '') + '.svg';
  writeFileSync(target, svg);
  const written = [target];
  publish(report, svg, written);
  console.log(`Written: ${written.join(', ')}`);
}
