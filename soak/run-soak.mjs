// Soak test at volume: two production instances sharing one database and one Redis, the database seeded
// with 50,000 sessions, then a bounded verify-heavy workload with every answer checked, the instances'
// memory and event-loop delay sampled throughout.
//
//   npm run soak                                    10 minutes, 48 virtual users, both instances Express
//   npm run soak -- --duration 60 --sessions 5000   a short trial
//   npm run soak -- --adapter fastify               HTTP_ADAPTER=fastify on both instances
//   npm run soak -- --adapter both                  A on Express, B on Fastify, same database and Redis
//
// Passes (exit 0) only with zero revoked tokens accepted, zero 5xx, zero other answers the contract does
// not allow, at least 500 requests/s during the load and RSS growth under 10 % per instance (see
// lib/criteria.mjs); otherwise exit 1, with the reasons printed. Interrupted (Ctrl-C, SIGTERM): the
// summary so far, exit 130. Writes soak/results/soak-<time>.json and .svg, latest.json and latest.svg;
// a full default run (not interrupted) also refreshes docs/performance/soak-plot.svg, whose subtitle
// says whether it passed (a short trial run does not touch it).
//
// Why it is built this way:
// - Two instances, random instance per request: revocation has to be immediate across instances, so
//   the first check after every logout or revocation goes to the instance that did not handle it.
// - Seeded before the load, straight into the collections: a lookup that scans instead of using an
//   index is cheap on the few hundred sessions a run creates and shows only at volume.
// - `--adapter both` mixes the adapters in one cluster (A Express, B Fastify) instead of running twice:
//   tokens then cross adapters on every other request, the way they would during a rolling switch, and
//   the two adapters' memory and event-loop delay are measured under the very same load.
// - A closed loop of N virtual users (fixed concurrency), each waiting for its answers before its next
//   step, instead of a fixed request rate: the run measures a steady state the machine can hold,
//   and a lifecycle's requests happen in the order whose outcome is being checked.
// - The instances are stock `node dist/main.js` (lib/cluster.mjs says which settings the soak changes
//   and why); the probe that reports their event-loop delay is preloaded with --require.
// - At the end (the duration reached) no new lifecycle starts and those under way finish, so each
//   ending is still checked; a drain longer than 15 s is cut off, so the run ends within the duration
//   plus about a minute (start-up, seeding, drain, shutdown).
// - On Ctrl-C the terminal signals every process of the group, FerretDB included: answers that arrive
//   after the signal are not judged, since the database may already be going away.
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { seedSessions } from '../bench/lib/seed.mjs';
import { startCluster, stopCluster } from './lib/cluster.mjs';
import { cpuSnapshot, cpuSummary, soakProcesses } from './lib/cpu.mjs';
import { judgeRun } from './lib/criteria.mjs';
import { createHttpClient } from './lib/http-client.mjs';
import { parseArguments } from './lib/options.mjs';
import { plotReport, printSummary, replot, writeResults } from './lib/report.mjs';
import { startSampling, summarizeInstance } from './lib/sampling.mjs';
import { Recorder, round } from './lib/stats.mjs';
import { Workload } from './lib/workload.mjs';

const DRAIN_LIMIT_MS = 15_000;
const PROGRESS_INTERVAL_MS = 10_000;
const EXIT_INTERRUPTED = 130;

const log = (message) => console.error(message);
const pad = (value, width) => String(value ?? '-').padStart(width);

async function seed(cluster, total) {
  if (total === 0) return { requested: 0, users: 0, sessions: 0, seconds: 0 };
  log(`Seeding ${total.toLocaleString('en-US')} sessions into the shared database...`);
  const started = Date.now();
  const counted = await seedSessions({ uri: cluster.database.uri, databaseName: cluster.databaseName, total });
  const seconds = round((Date.now() - started) / 1000, 1);
  log(`Seeded: ${counted.sessions} sessions of ${counted.users} users in ${seconds} s`);
  return { requested: total, ...counted, seconds };
}

function startProgress({ recorder, sampling, instances, loadStartedAt, durationS }) {
  return setInterval(() => {
    const elapsed = Math.round((Date.now() - loadStartedAt) / 1000);
    const lastTen = recorder.requestsPerSecond.slice(-11, -1).reduce((sum, count) => sum + (count ?? 0), 0) / 10;
    const latest = (column, index) =>
      instances.map((instance) => `${instance.name} ${sampling.series.get(instance)[column].at(-1)?.[index] ?? '-'}`);
    const { serverError, wronglyAccepted, unexpected } = recorder.failures;
    log(
      `[${pad(elapsed, 4)} s/${durationS} s] ${Math.round(lastTen)} req/s, ${recorder.total} requests | ` +
        `5xx ${serverError}, wrongly accepted ${wronglyAccepted}, unexpected ${unexpected} | ` +
        `RSS MB ${latest('rss', 1).join(' ')} | loop p99 ms ${latest('eventLoop', 2).join(' ')}`,
    );
  }, PROGRESS_INTERVAL_MS);
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.replot) {
    replot(options.replot);
    return 0;
  }
  const adapters = options.adapter === 'both' ? ['express', 'fastify'] : [options.adapter, options.adapter];
  let workload;
  let interruption = null;
  // Before the load, a child's exit is only noted: the check after seeding stops the run.
  let interrupt = (reason) => (interruption ??= reason);

  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      signals += 1;
      // Before the load (start-up, seeding), or a second time: leave now; the exit handler kills the children.
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
  // After the instances have created their indexes: the data grows into them, as in production.
  const seeding = await seed(cluster, options.sessions);
  if (interruption) throw new Error(`Not starting the load: ${interruption}`);
  log(`Load: ${options.concurrency} virtual users for ${options.durationS} s`);

  const processes = soakProcesses(cluster);
  const cpuAtStart = cpuSnapshot(processes);
  const loadStartedAt = Date.now();
  const startedAt = new Date(loadStartedAt).toISOString();
  const sampling = startSampling(instances, loadStartedAt);
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();
  const recorder = new Recorder({ startedAt: loadStartedAt });
  const client = createHttpClient();
  workload = new Workload({ instances, client, recorder });

  let loadStoppedAt = null;
  let requestsDuringLoad = 0;
  let cpuAtStop;
  let drainTimer;
  const stopLoad = () => {
    if (loadStoppedAt !== null) return;
    loadStoppedAt = Date.now();
    requestsDuringLoad = recorder.total;
    cpuAtStop = cpuSnapshot(processes);
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
  const progressTimer = startProgress({ recorder, sampling, instances, loadStartedAt, durationS: options.durationS });

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
  const totals = {
    requests: recorder.total,
    requestsDuringLoad,
    loadSeconds,
    elapsedSeconds,
    drainSeconds: round(elapsedSeconds - loadSeconds, 1),
    loadRequestsPerSecond: round(requestsDuringLoad / loadSeconds, 1),
  };
  const instanceSummaries = instances.map((instance) =>
    summarizeInstance(instance, sampling.series.get(instance), loadSeconds),
  );
  const criteria = judgeRun({
    failures: recorder.failures,
    totals,
    instances: instanceSummaries,
    interruption,
    workloadError,
  });
  const report = {
    startedAt,
    passed: criteria.every((criterion) => criterion.passed !== false),
    criteria,
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
    seeding,
    totals,
    cpu: cpuSummary(cpuAtStart, cpuAtStop, requestsDuringLoad),
    lifecycles: recorder.lifecycles,
    kinds: recorder.kindSummary(),
    windows: recorder.windowSummary(loadSeconds),
    failures: { counts: recorder.failures, examples: recorder.examples },
    instances: instanceSummaries,
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
  const written = writeResults(report, plotReport(report));
  console.log(`\nWritten: ${written.join(', ')}`);

  stopping = true;
  await stopCluster(cluster);
  if (interruption && !workloadError && recorder.failureCount() === 0) return EXIT_INTERRUPTED;
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error?.stack ?? error);
    process.exit(1);
  },
);
