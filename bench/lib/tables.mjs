// The tables of a run's Markdown (the results file, the docs/performance.md block), one function each.
import { mibText, msText, percentText, ratioText, rpsText, statusesText } from './format.mjs';

export function table(header, alignRight, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [
    line(header),
    line(header.map((_, index) => (alignRight[index] ? '---:' : '---'))),
    ...rows.map((row) => line(row)),
  ].join('\n');
}

/** The scenarios through nginx are rows like the others; a run before them has none. */
export const proxyRows = (report) => report.proxy ?? [];

/** Every measured row in the order the tables show them: the GET scenarios, through nginx, the logins. */
export const allRows = (report) => [
  ...report.scenarios.filter((scenario) => scenario.kind !== 'login'),
  ...proxyRows(report),
  ...report.scenarios.filter((scenario) => scenario.kind === 'login'),
];

/** A figure that includes refusals or errors says so where it is shown. */
const flaggedLabel = (scenario) =>
  scenario.failed > 0 ? `${scenario.label} (${rpsText(scenario.failed)} answers not 2xx)` : scenario.label;

export function mainTable(report) {
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', '× /health/live (same instance)', '× node:http ceiling'],
    [false, true, true, true, true, true, true],
    allRows(report).map((scenario) => [
      flaggedLabel(scenario),
      rpsText(scenario.rps),
      msText(scenario.p50),
      msText(scenario.p99),
      // Several processes serve a request through nginx: no one RSS is the scenario's.
      scenario.kind.startsWith('proxy') ? '–' : mibText(scenario.rssMiB),
      ratioText(scenario.ratioToLive),
      ratioText(scenario.ratioToCeiling),
    ]),
  );
}

export function stormTable(report) {
  return table(
    [
      'instance',
      'verify req/s (fixed)',
      'p50 ms idle',
      'p99 ms idle',
      'p50 ms storm',
      'p99 ms storm',
      'p99 ratio',
      'logins/s',
    ],
    [false, true, true, true, true, true, true, true],
    report.storm.map((entry) => [
      entry.instanceLabel,
      rpsText(entry.rate),
      msText(entry.idle.p50),
      msText(entry.idle.p99),
      msText(entry.storm.p50),
      msText(entry.storm.p99),
      ratioText(entry.ratio),
      rpsText(entry.storm.loginRps),
    ]),
  );
}

export function floodTable(report) {
  return table(
    [
      'instance',
      'logins/s (fixed)',
      'p50 ms idle',
      'p99 ms idle',
      'p50 ms flood',
      'p99 ms flood',
      'p99 ratio',
      'flooding connections',
      'flood req/s',
      'flood answers',
    ],
    [false, true, true, true, true, true, true, true, true, false],
    report.flood.map((entry) => [
      entry.instanceLabel,
      rpsText(entry.rate),
      msText(entry.idle.p50),
      msText(entry.idle.p99),
      msText(entry.flood.p50),
      msText(entry.flood.p99),
      ratioText(entry.ratio),
      String(entry.connections),
      rpsText(entry.flood.floodRps),
      statusesText(entry.flood.statuses),
    ]),
  );
}

export function rssTable(report) {
  return table(
    [
      'instance',
      'requests',
      'req/s',
      'RSS before MiB',
      'RSS after MiB',
      'growth',
      'trend MiB per 100k requests',
      'lowest / highest MiB during the run',
    ],
    [false, true, true, true, true, true, true, true],
    report.rss.map((entry) => [
      entry.instanceLabel,
      rpsText(entry.requests),
      rpsText(entry.rps),
      mibText(entry.beforeMiB),
      mibText(entry.afterMiB),
      percentText(entry.growthPercent),
      Number.isFinite(entry.trendMiBPer100k)
        ? `${entry.trendMiBPer100k >= 0 ? '+' : ''}${entry.trendMiBPer100k.toFixed(1)}`
        : '–',
      `${mibText(Math.min(...entry.samples.map((sample) => sample.rssMiB)))} / ${mibText(Math.max(...entry.samples.map((sample) => sample.rssMiB)))}`,
    ]),
  );
}

export function roundsTable(report) {
  const rounds = report.settings.rounds;
  return table(
    ['scenario', ...Array.from({ length: rounds }, (_, index) => `round ${index + 1}`), 'max / min'],
    [false, ...Array.from({ length: rounds }, () => true), true],
    allRows(report).map((scenario) => {
      const values = scenario.rounds.map((round) => round.rps);
      return [scenario.label, ...values.map(rpsText), ratioText(Math.max(...values) / Math.min(...values))];
    }),
  );
}

/** The volume runs, each stage of each instance: rows like the throughput scenarios' (label, cpu, rounds). */
export const volumeRows = (report) =>
  (report.volume?.instances ?? []).flatMap((entry) => entry.stages.flatMap((stage) => [stage.verify, stage.refresh]));

export function volumeTable(report) {
  const cores = (value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
  return table(
    [
      'instance',
      'sessions',
      'users',
      'verify p50 ms',
      'verify p99 ms',
      'refresh p50 ms',
      'refresh p99 ms',
      'FerretDB cores, verify / refresh',
    ],
    [false, true, true, true, true, true, true, true],
    report.volume.instances.flatMap((entry) =>
      entry.stages.map((stage) => [
        entry.instanceLabel,
        rpsText(stage.sessions),
        rpsText(stage.users),
        msText(stage.verify.p50),
        msText(stage.verify.p99),
        msText(stage.refresh.p50),
        msText(stage.refresh.p99),
        // FerretDB serves every instance: its load beside the measured requests shows here too.
        `${cores(stage.verify.cpu.ferretdb)} / ${cores(stage.refresh.cpu.ferretdb)}`,
      ]),
    ),
  );
}

/** Each volume round's figures, to tell a real difference between the two stages from noise. */
export function volumeRoundsTable(report) {
  const each = (rounds, key) => rounds.map((round) => msText(round[key])).join(' / ');
  return table(
    ['scenario', 'req/s', 'p50 ms of each round', 'p99 ms of each round'],
    [false, true, true, true],
    volumeRows(report).map((row) => [row.label, rpsText(row.rps), each(row.rounds, 'p50'), each(row.rounds, 'p99')]),
  );
}

export function cpuTable(report) {
  const cores = (value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
  const rows = [
    ...report.scenarios.map((scenario) => [scenario.label, scenario.cpu]),
    ...volumeRows(report).map((scenario) => [scenario.label, scenario.cpu]),
    ...report.storm.flatMap((entry) => [
      [`${entry.instanceLabel} verify, no storm`, entry.idle.cpu],
      [`${entry.instanceLabel} verify + login storm`, entry.storm.cpu],
    ]),
    ...report.flood.flatMap((entry) => [
      [`${entry.instanceLabel} logins, no flood`, entry.idle.cpu],
      [`${entry.instanceLabel} logins + password-change flood`, entry.flood.cpu],
    ]),
    ...report.rss.map((entry) => [`${entry.instanceLabel} ${rpsText(entry.requests)} verify (RSS check)`, entry.cpu]),
  ];
  return table(
    ['phase', 'server', 'FerretDB', 'Redis', 'load generator', 'sum', 'rest of the machine'],
    [false, true, true, true, true, true, true],
    rows.map(([label, cpu]) => [
      label,
      cores(cpu.server),
      cores(cpu.ferretdb),
      cores(cpu.redis),
      cores(cpu.loadGenerator),
      cores(cpu.total),
      cores(cpu.other),
    ]),
  );
}

/** CPU of each process divided by the requests served: what one request costs, and where. */
export function cpuPerRequestTable(report) {
  const micros = (seconds, requests) => (Number.isFinite(seconds) ? ((seconds / requests) * 1e6).toFixed(0) : '–');
  return table(
    ['scenario', 'server µs', 'FerretDB µs', 'Redis µs', 'load generator µs'],
    [false, true, true, true, true],
    [...report.scenarios, ...volumeRows(report)].map((scenario) => {
      const requests = scenario.rounds.reduce((sum, round) => sum + round.requests, 0);
      const { server, ferretdb, redis, loadGenerator } = scenario.cpu.cpuSeconds;
      return [
        scenario.label,
        micros(server, requests),
        micros(ferretdb, requests),
        micros(redis, requests),
        micros(loadGenerator, requests),
      ];
    }),
  );
}

export function proxyTable(report) {
  return table(
    ['scenario', 'req/s', 'p50 ms', 'p99 ms', '× without auth', 'answers not 2xx'],
    [false, true, true, true, true, true],
    proxyRows(report).map((scenario) => [
      scenario.label,
      rpsText(scenario.rps),
      msText(scenario.p50),
      msText(scenario.p99),
      ratioText(scenario.kind === 'proxy' ? 1 : scenario.ratioToNoAuth),
      scenario.failed > 0 ? statusesText(scenario.statuses, { failuresOnly: true }) : '0',
    ]),
  );
}

export function proxyCpuTable(report) {
  const cores = (value) => (Number.isFinite(value) ? value.toFixed(2) : '–');
  return table(
    ['scenario', 'nginx worker', 'instance (verify)', 'upstream', 'Redis', 'load generator', 'rest of the machine'],
    [false, true, true, true, true, true, true],
    proxyRows(report).map(({ label, cpu }) => [
      label,
      cores(cpu.server),
      cores(cpu.instance),
      cores(cpu.upstream),
      cores(cpu.redis),
      cores(cpu.loadGenerator),
      cores(cpu.other),
    ]),
  );
}
