// Soak test (issue 6, reliability point 6): a bounded mixed workload against two production instances
// that share one database and one Redis, checking every answer, with the instances' memory and
// event-loop delay sampled throughout.
//
//   npm run soak                                    5 minutes, 16 virtual users, both instances Express
//   npm run soak -- --duration 30 --concurrency 8
//   npm run soak -- --adapter fastify               HTTP_ADAPTER=fastify on both instances
//   npm run soak -- --adapter both                  A on Express, B on Fastify, same database and Redis
//
// Passes (exit 0) only with zero 5xx, zero wrongly accepted tokens and zero other answers the contract
// does not allow; any of them: exit 1. Interrupted (Ctrl-C, SIGTERM): the summary so far, exit 130.
// Writes soak/results/soak-<time>.json and .svg, latest.json and latest.svg; a run of the full default
// 5 minutes (not interrupted) also refreshes docs/soak/soak-plot.svg, the plot worth committing, whose
// subtitle says whether it passed (a short trial run does not touch it).
//
// Why it is built this way:
// - Two instances, random instance per request: revocation has to be immediate across instances, so
//   the first check after every logout or revocation goes to the instance that did not handle it.
// - `--adapter both` mixes the adapters in one cluster (A Express, B Fastify) instead of running twice:
//   tokens then cross adapters on every other request, the way they would during a rolling switch, and
//   the two adapters' memory and event-loop delay are measured under the very same load.
// - A closed loop of N virtual users (fixed concurrency), each waiting for its answers before its next
//   step, instead of a fixed request rate: the run measures a steady state the machine can hold,
//   and a lifecycle's requests happen in the order whose outcome is being checked.
// - REFRESH_REUSE_GRACE=0 on the instances: presenting a superseded refresh token is then always reuse
//   (401 and the session revoked), so the expected answer of every request is known in advance.
// - AUTH_RATE_LIMIT=0 and a huge LOGIN_MAX_FAILURES: every virtual user comes from 127.0.0.1, and the
//   per-address limits would otherwise throttle the load itself.
// - The instances are stock `node dist/main.js`. Their event-loop delay comes from a preloaded probe
//   (soak/event-loop-probe.cjs, over the IPC channel); their RSS from /proc/<pid>/status, read from
//   outside so that measuring costs them nothing.
// - At the end (the duration reached) no new lifecycle starts and those under way finish, so each
//   ending is still checked; a drain longer than 15 s is cut off, so the run ends within the duration
//   plus about 30 s (start-up, drain, shutdown).
// - On Ctrl-C the terminal signals every process of the group, FerretDB included: answers that arrive
//   after the signal are not judged, since the database may already be going away.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ROOT, readRssBytes, startCluster, stopCluster } from './lib/cluster.mjs';
import { createHttpClient } from './lib/http-client.mjs';
import { FAILURE_CLASSES, median, Recorder, round, slope, WINDOW_SECONDS, WINDOWED_KINDS } from './lib/stats.mjs';
import { renderSoakPlot } from './lib/svg-plot.mjs';
import { Workload } from './lib/workload.mjs';

const DEFAULT_DURATION_S = 300;
const DEFAULT_CONCURRENCY = 16;
const ADAPTER_CHOICES = ['express', 'fastify', 'both'];
const DRAIN_LIMIT_MS = 15_000;
const SAMPLE_INTERVAL_MS = 1000;
const PROGRESS_INTERVAL_MS = 10_000;
const EXAMPLES_PRINTED = 5;
const MB = 1024 * 1024;
const RESULTS_DIR = join(ROOT, 'soak', 'results');
const PUBLISHED_PLOT = join(ROOT, 'docs', 'soak', 'soak-plot.svg');
const EXIT_INTERRUPTED = 130;

const USAGE = `Usage: node soak/run-soak.mjs [--duration <seconds|90s|5m>] [--concurrency <virtual users>] [--adapter express|fastify|both]
  --duration     how long the load runs (default ${DEFAULT_DURATION_S} s)
  --concurrency  virtual users, each one session lifecycle at a time (default ${DEFAULT_CONCURRENCY})
  --adapter      HTTP_ADAPTER of the two instances; "both": A express, B fastify (default express)
       node soak/run-soak.mjs --replot soak/results/<run>.json   redraws that run's SVG from its data`;

function parseDuration(text) {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(String(text).trim());
  if (!match) return null;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] ?? 's'];
  return seconds > 0 ? seconds : null;
}

function parseArguments(argv) {
  const options = { durationS: DEFAULT_DURATION_S, concurrency: DEFAULT_CONCURRENCY, adapter: 'express' };
  const fail = (message) => {
    console.error(`${message}\n\n${USAGE}`);
    process.exit(2);
  };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inlineValue] = argv[index].split(/=(.*)/s);
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = inlineValue ?? argv[++index];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === '--duration') {
      options.durationS = parseDuration(value) ?? fail(`--duration: "${value}" is not a duration`);
    } else if (flag === '--concurrency') {
      options.concurrency = Number(value);
      if (!Number.isInteger(options.concurrency) || options.concurrency < 1) fail(`--concurrency: "${value}"`);
    } else if (flag === '--replot') {
      options.replot = value;
    } else if (flag === '--adapter') {
      if (!ADAPTER_CHOICES.includes(value)) fail(`--adapter: one of ${ADAPTER_CHOICES.join(', ')}`);
      options.adapter = value;
    } else {
      fail(`Unknown option ${flag}`);
    }
  }
  return options;
}

/** Per instance: RSS read from outside every second, and what its probe reports. */
function startSampling(instances, loadStartedAt) {
  const secondsNow = () => round((Date.now() - loadStartedAt) / 1000, 1);
  const series = new Map(
    instances.map((instance) => [
      instance,
      { rss: [], heap: [], eventLoop: [], idleRssMB: round(readRssBytes(instance.pid) / MB, 1) },
    ]),
  );
  const onProbe = (instance) => (message) => {
    if (message?.type !== 'soak-probe') return;
    const samples = series.get(instance);
    const at = secondsNow();
    const { p50, p99, max } = message.eventLoopDelay;
    samples.eventLoop.push([at, round(p50), round(p99), round(max)]);
    samples.heap.push([at, round(message.heapUsedBytes / MB, 1)]);
  };
  const listeners = instances.map((instance) => {
    const listener = onProbe(instance);
    instance.child.on('message', listener);
    return () => instance.child.off('message', listener);
  });
  const timer = setInterval(() => {
    for (const instance of instances) {
      const rss = readRssBytes(instance.pid);
      if (rss !== null) series.get(instance).rss.push([secondsNow(), round(rss / MB, 1)]);
    }
  }, SAMPLE_INTERVAL_MS);
  return {
    series,
    stop() {
      clearInterval(timer);
      listeners.forEach((remove) => remove());
    },
  };
}

function summarizeInstance(instance, samples, loadSeconds) {
  const duringLoad = (points) => points.filter(([at]) => at <= loadSeconds);
  const rss = duringLoad(samples.rss);
  const heap = duringLoad(samples.heap);
  const eventLoop = duringLoad(samples.eventLoop);
  // The first half is warm-up (JIT, pools, caches); a leak is growth that goes on after it.
  const secondHalf = (points) => points.filter(([at]) => at >= loadSeconds / 2);
  const perMinute = (points) => round((slope(secondHalf(points)) ?? 0) * 60);
  const values = (points, column = 1) => points.map((point) => point[column]);
  return {
    name: instance.name,
    adapter: instance.adapter,
    pid: instance.pid,
    rssMB: {
      idle: samples.idleRssMB,
      first: rss[0]?.[1] ?? null,
      end: rss.at(-1)?.[1] ?? null,
      max: rss.length ? Math.max(...values(rss)) : null,
      trendSecondHalfMBPerMin: perMinute(rss),
    },
    heapUsedMB: {
      first: heap[0]?.[1] ?? null,
      end: heap.at(-1)?.[1] ?? null,
      max: heap.length ? Math.max(...values(heap)) : null,
      trendSecondHalfMBPerMin: perMinute(heap),
    },
    eventLoopDelayMs: {
      p50Median: round(median(values(eventLoop, 1))),
      p99Median: round(median(values(eventLoop, 2))),
      p99Max: eventLoop.length ? Math.max(...values(eventLoop, 2)) : null,
      max: eventLoop.length ? Math.max(...values(eventLoop, 3)) : null,
      seconds: eventLoop.length,
    },
    log: instance.log,
  };
}

const pad = (value, width) => String(value ?? '-').padStart(width);

function printSummary(report) {
  const { config, totals, kinds, failures, instances, lifecycles } = report;
  const lines = [];
  const names = config.instances.map((instance) => `${instance.name} (${instance.adapter})`).join(' and ');
  lines.push('', `Soak: ${totals.loadSeconds} s of load at ${config.concurrency} virtual users against ${names},`);
  lines.push(`      shared FerretDB ${config.versions.ferretDb} + Redis ${config.versions.redis}, ${config.machine}`);
  if (report.interruption) lines.push(`      INTERRUPTED: ${report.interruption}`);
  const endings = Object.entries(lifecycles.endings)
    .map(([ending, count]) => `${ending} ${count}`)
    .join(', ');
  lines.push(
    `Lifecycles: ${lifecycles.completed} completed (${endings}), ${lifecycles.abandoned} abandoned after a failure`,
  );
  for (const [ending, byClass] of Object.entries(lifecycles.withFailures)) {
    const classes = Object.entries(byClass)
      .map(([failureClass, count]) => `${failureClass} in ${count}`)
      .join(', ');
    lines.push(`  ${ending} lifecycles with failures: ${classes}`);
  }
  lines.push(
    `Requests: ${totals.requests} in ${totals.elapsedSeconds} s (drain ${totals.drainSeconds} s) = ${totals.requestsPerSecond} req/s`,
  );
  lines.push(
    '',
    `  ${'kind'.padEnd(22)}${pad('requests', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}  statuses`,
  );
  for (const [kind, entry] of Object.entries(kinds)) {
    const statuses = Object.entries(entry.statuses)
      .map(([status, count]) => `${status}:${count}`)
      .join(' ');
    const { p50, p99, max } = entry.latencyMs;
    lines.push(`  ${kind.padEnd(22)}${pad(entry.requests, 9)}${pad(p50, 9)}${pad(p99, 9)}${pad(max, 9)}  ${statuses}`);
  }
  lines.push('', `Over time (${WINDOW_SECONDS} s windows), latency p50/p99 ms:`);
  lines.push(`  ${pad('from s', 7)}${pad('req/s', 8)}${WINDOWED_KINDS.map((kind) => pad(kind, 16)).join('')}`);
  for (const window of report.windows) {
    const cells = WINDOWED_KINDS.map((kind) => {
      const latency = window.latencyMs[kind];
      return pad(latency ? `${Math.round(latency.p50)}/${Math.round(latency.p99)}` : '-', 16);
    });
    lines.push(`  ${pad(window.fromSecond, 7)}${pad(window.requestsPerSecond, 8)}${cells.join('')}`);
  }
  lines.push(
    '',
    `5xx: ${failures.counts.serverError}   wrongly accepted: ${failures.counts.wronglyAccepted}   unexpected: ${failures.counts.unexpected}`,
  );
  for (const failureClass of FAILURE_CLASSES) {
    for (const example of failures.examples[failureClass].slice(0, EXAMPLES_PRINTED)) {
      lines.push(`  [${failureClass}] ${JSON.stringify(example)}`);
    }
  }
  lines.push('');
  for (const instance of instances) {
    const { rssMB: rss, heapUsedMB: heap, eventLoopDelayMs: delay, log } = instance;
    lines.push(`Instance ${instance.name} (${instance.adapter}, pid ${instance.pid}):`);
    lines.push(
      `  RSS MB: idle ${rss.idle}, first second ${rss.first}, end ${rss.end}, max ${rss.max}; trend over the second half ${signed(rss.trendSecondHalfMBPerMin)} MB/min`,
    );
    lines.push(
      `  heap used MB: first ${heap.first}, end ${heap.end}, max ${heap.max}; trend over the second half ${signed(heap.trendSecondHalfMBPerMin)} MB/min`,
    );
    lines.push(
      `  event-loop delay ms: p99 per second median ${delay.p99Median}, max ${delay.p99Max}; p50 median ${delay.p50Median}; longest stall ${delay.max}`,
    );
    const audit = Object.entries(log.auditEvents)
      .map(([event, count]) => `${event} ${count}`)
      .join(', ');
    lines.push(`  log: audit events ${audit || 'none'}; other warnings ${log.warn}, errors ${log.error}`);
    for (const example of log.examples) lines.push(`    ${example}`);
  }
  lines.push(
    `Load generator event-loop delay ms: p99 ${report.loadGenerator.eventLoopDelayP99Ms}, max ${report.loadGenerator.eventLoopDelayMaxMs}`,
  );
  lines.push('', report.passed ? 'PASS: zero 5xx, zero wrongly accepted tokens, zero unexpected answers' : 'FAIL');
  console.log(lines.join('\n'));
}

const signed = (value) => (value === null ? '-' : `${value >= 0 ? '+' : ''}${value}`);

function writeResults(report, svg) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const written = [join(RESULTS_DIR, `soak-${stamp}.json`), join(RESULTS_DIR, `soak-${stamp}.svg`)];
  writeFileSync(written[0], json);
  writeFileSync(written[1], svg);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
  writeFileSync(join(RESULTS_DIR, 'latest.svg'), svg);
  written.push(join(RESULTS_DIR, 'latest.json'), join(RESULTS_DIR, 'latest.svg'));
  if (worthPublishing(report)) {
    mkdirSync(dirname(PUBLISHED_PLOT), { recursive: true });
    writeFileSync(PUBLISHED_PLOT, svg);
    written.push(PUBLISHED_PLOT);
  }
  return written.map((path) => path.slice(ROOT.length + 1));
}

/**
 * A full-length run that was not interrupted, passing or not: its plot shows the memory and event-loop
 * behaviour over the whole run, and its subtitle says whether the run passed.
 */
const worthPublishing = (report) => report.totals.loadSeconds >= DEFAULT_DURATION_S && !report.interruption;

/** The SVG of a results report; also used by --replot, so that a plot can be redrawn from its data. */
function plotReport(report) {
  const { config, totals, failures, startedAt, passed } = report;
  const counts = failures.counts;
  return renderSoakPlot({
    instances: report.timeline.instances.map((instance, index) => ({
      name: instance.name,
      adapter: config.instances[index].adapter,
      rss: instance.rssMB,
      heap: instance.heapUsedMB,
      eventLoopP99: instance.eventLoopDelayMs.samples.map(([at, , p99]) => [at, p99]),
    })),
    loadSeconds: totals.loadSeconds,
    title: `secure-logout-jwt soak: ${totals.loadSeconds} s, ${config.concurrency} virtual users, two instances sharing FerretDB + Redis`,
    subtitle:
      `${startedAt.slice(0, 16).replace('T', ' ')} UTC, ${config.machine}: ${totals.requests} requests ` +
      `(${totals.requestsPerSecond}/s), 5xx ${counts.serverError}, wrongly accepted ${counts.wronglyAccepted}, ` +
      `unexpected ${counts.unexpected}${passed ? '' : ' (FAIL)'}`,
  });
}

/** `--replot <results.json>`: redraws its SVG next to it (and the published copy, if it qualifies). */
function replot(resultsFile) {
  const report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const svg = plotReport(report);
  const target = resultsFile.replace(/\.json$/, '') + '.svg';
  writeFileSync(target, svg);
  const written = [target];
  if (worthPublishing(report)) {
    mkdirSync(dirname(PUBLISHED_PLOT), { recursive: true });
    writeFileSync(PUBLISHED_PLOT, svg);
    written.push(PUBLISHED_PLOT);
  }
  console.log(`Written: ${written.join(', ')}`);
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.replot) {
    replot(options.replot);
    return 0;
  }
  const adapters = options.adapter === 'both' ? ['express', 'fastify'] : [options.adapter, options.adapter];
  const log = (message) => console.error(message);
  let workload;
  let interruption = null;
  let interrupt = () => undefined;

  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      signals += 1;
      // Before the load, or a second time: leave now; the exit handler kills the children.
      if (!workload || signals > 1) process.exit(EXIT_INTERRUPTED);
      interrupt(`${signal} received`);
    });
  }

  log(`Starting FerretDB, Redis and two instances (${adapters.join(', ')})...`);
  const cluster = await startCluster({ adapters, log });
  const { instances } = cluster;
  let stopping = false;
  for (const child of [...instances.map((instance) => instance.child), cluster.redis.child]) {
    child.once('exit', (code, signal) => {
      if (!stopping) interrupt(`a child process (pid ${child.pid}) exited during the run (${code ?? signal})`);
    });
  }
  log(`Ready: ${instances.map((instance) => `${instance.name} ${instance.baseUrl} (${instance.adapter})`).join(', ')}`);
  log(`Load: ${options.concurrency} virtual users for ${options.durationS} s`);

  const loadStartedAt = Date.now();
  const startedAt = new Date(loadStartedAt).toISOString();
  const sampling = startSampling(instances, loadStartedAt);
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();
  const recorder = new Recorder({ startedAt: loadStartedAt });
  const client = createHttpClient();
  workload = new Workload({ instances, client, recorder });

  let loadStoppedAt = null;
  let drainTimer;
  const stopLoad = () => {
    if (loadStoppedAt !== null) return;
    loadStoppedAt = Date.now();
    workload.stop();
    drainTimer = setTimeout(() => {
      log(`Drain still running after ${DRAIN_LIMIT_MS / 1000} s: cutting the remaining lifecycles off`);
      client.abortAll();
    }, DRAIN_LIMIT_MS);
  };
  interrupt = (reason) => {
    if (interruption) return;
    interruption = reason;
    log(`Stopping: ${reason}`);
    stopLoad();
    client.abortAll();
  };
  const durationTimer = setTimeout(stopLoad, options.durationS * 1000);
  const progressTimer = setInterval(() => {
    const elapsed = Math.round((Date.now() - loadStartedAt) / 1000);
    const lastTen = recorder.requestsPerSecond.slice(-11, -1).reduce((sum, count) => sum + (count ?? 0), 0) / 10;
    const memory = instances
      .map((instance) => `${instance.name} ${sampling.series.get(instance).rss.at(-1)?.[1] ?? '-'} MB`)
      .join(' ');
    const delay = instances
      .map((instance) => `${instance.name} ${sampling.series.get(instance).eventLoop.at(-1)?.[2] ?? '-'} ms`)
      .join(' ');
    const { serverError, wronglyAccepted, unexpected } = recorder.failures;
    log(
      `[${pad(elapsed, 4)} s/${options.durationS} s] ${Math.round(lastTen)} req/s, ${recorder.total} requests | ` +
        `5xx ${serverError}, wrongly accepted ${wronglyAccepted}, unexpected ${unexpected} | RSS ${memory} | loop p99 ${delay}`,
    );
  }, PROGRESS_INTERVAL_MS);

  let workloadError = null;
  await workload.run(options.concurrency).catch((error) => {
    // A bug in the soak itself, not an answer of the service: stop everything and say so.
    workloadError = error;
    interrupt(`the workload failed: ${error.stack ?? error}`);
  });
  const finishedAt = Date.now();
  clearTimeout(durationTimer);
  clearTimeout(drainTimer);
  clearInterval(progressTimer);
  sampling.stop();
  ownDelay.disable();
  client.close();
  stopLoad();

  const loadSeconds = round((loadStoppedAt - loadStartedAt) / 1000, 1);
  const elapsedSeconds = round((finishedAt - loadStartedAt) / 1000, 1);
  const passed = recorder.failureCount() === 0 && !interruption && !workloadError;
  const report = {
    startedAt,
    passed,
    interruption,
    config: {
      durationSeconds: options.durationS,
      concurrency: options.concurrency,
      adapter: options.adapter,
      instances: instances.map(({ name, adapter }) => ({ name, adapter })),
      instanceEnvironment: cluster.env,
      versions: { node: process.version, ...cluster.versions },
      machine: `${cpus().length} cores (${cpus()[0]?.model?.trim() ?? 'unknown CPU'}), Node ${process.version}`,
    },
    totals: {
      requests: recorder.total,
      loadSeconds,
      elapsedSeconds,
      drainSeconds: round(elapsedSeconds - loadSeconds, 1),
      requestsPerSecond: round(recorder.total / elapsedSeconds, 1),
    },
    lifecycles: recorder.lifecycles,
    kinds: recorder.kindSummary(),
    windows: recorder.windowSummary(loadSeconds),
    failures: { counts: recorder.failures, examples: recorder.examples },
    instances: instances.map((instance) => summarizeInstance(instance, sampling.series.get(instance), loadSeconds)),
    loadGenerator: {
      // Latencies above include this process's own delay: large values here mean the client, not the
      // service, was the bottleneck.
      eventLoopDelayP99Ms: round(Math.max(0, ownDelay.percentile(99) / 1e6 - 10)),
      eventLoopDelayMaxMs: round(Math.max(0, ownDelay.max / 1e6 - 10)),
    },
    timeline: {
      requestsPerSecond: Array.from(recorder.requestsPerSecond, (count) => count ?? 0),
      instances: instances.map((instance) => {
        const samples = sampling.series.get(instance);
        return {
          name: instance.name,
          rssMB: samples.rss,
          heapUsedMB: samples.heap,
          eventLoopDelayMs: { columns: ['seconds', 'p50', 'p99', 'max'], samples: samples.eventLoop },
        };
      }),
    },
  };
  printSummary(report);

  const svg = plotReport(report);
  const written = writeResults(report, svg);
  console.log(`\nWritten: ${written.join(', ')}`);

  stopping = true;
  await stopCluster(cluster);
  if (interruption && !workloadError && recorder.failureCount() === 0) return EXIT_INTERRUPTED;
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error?.stack ?? error);
    process.exit(1);
  },
);
