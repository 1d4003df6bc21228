// Measuring scenarios: interleaved rounds with medians, and the CPU every process of interest spent
// meanwhile, which tells what limited a figure (the app, FerretDB, Redis, the load generator, or
// something else on the machine).
import { median, runClosedLoop } from './load.mjs';
import { cpuSeconds, machineCpuSeconds, rssMiB, sleep } from './processes.mjs';

const CPU_USERS = ['server', 'ferretdb', 'redis', 'loadGenerator'];
/** A pause between runs, so that the tail of one (argon2 hashes still in flight) does not reach the next. */
export const PAUSE_MS = 300;

function cpuSnapshot(serverPid, services) {
  const machine = machineCpuSeconds();
  return {
    at: performance.now(),
    server: cpuSeconds(serverPid),
    ferretdb: cpuSeconds(services.ferretdbPid),
    redis: cpuSeconds(services.redisPid),
    loadGenerator: cpuSeconds(process.pid),
    machine: machine.busy,
    steal: machine.steal,
  };
}

/** Accumulates CPU seconds over several runs; `cores()` gives the average number of cores busy. */
export class CpuAccount {
  #totals = { wallSeconds: 0, server: 0, ferretdb: 0, redis: 0, loadGenerator: 0, machine: 0, steal: 0 };

  constructor(services) {
    this.services = services;
  }

  async measure(serverPid, run) {
    const before = cpuSnapshot(serverPid, this.services);
    const result = await run();
    const after = cpuSnapshot(serverPid, this.services);
    this.#totals.wallSeconds += (after.at - before.at) / 1000;
    for (const name of [...CPU_USERS, 'machine', 'steal']) this.#totals[name] += after[name] - before[name];
    return result;
  }

  /** `other`: what the rest of the machine used meanwhile (idle instances, anything this run did not start). */
  cores() {
    const totals = this.#totals;
    const cores = {};
    for (const name of [...CPU_USERS, 'machine', 'steal']) cores[name] = totals[name] / totals.wallSeconds;
    // A service the run did not start (no Redis with --flood-only) reads NaN and adds nothing.
    cores.total = CPU_USERS.reduce((sum, name) => sum + (Number.isFinite(cores[name]) ? cores[name] : 0), 0);
    cores.other = Math.max(0, cores.machine - cores.total);
    return { ...cores, cpuSeconds: { ...totals } };
  }
}

/**
 * Warms every scenario up, then measures them in `rounds` interleaved rounds (A B C, A B C, …), so that
 * a disturbance hits every scenario alike rather than one; reports the medians. A scenario:
 * { id, label, pid, load: { url, method?, headers?, body? }, connections? } plus any descriptive fields;
 * or, for a load runClosedLoop cannot send (refresh chains), `run(seconds)` instead of `load`, resolving
 * as runClosedLoop does.
 */
export async function measureInterleaved(scenarios, { rounds, durationS, warmupS, connections, services, log, phase }) {
  const run = (scenario, seconds) =>
    scenario.run
      ? scenario.run(seconds)
      : runClosedLoop({ ...scenario.load, connections: scenario.connections ?? connections, durationS: seconds });
  log(`${phase}: warm-up, ${warmupS} s per scenario`);
  for (const scenario of scenarios) {
    await run(scenario, warmupS);
    await sleep(PAUSE_MS);
  }
  const results = new Map(scenarios.map((scenario) => [scenario.id, []]));
  const accounts = new Map(scenarios.map((scenario) => [scenario.id, new CpuAccount(services)]));
  const rss = new Map();
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      results
        .get(scenario.id)
        .push(await accounts.get(scenario.id).measure(scenario.pid, () => run(scenario, durationS)));
      rss.set(scenario.id, rssMiB(scenario.pid));
      await sleep(PAUSE_MS);
    }
    log(`${phase}: round ${round}/${rounds} done`);
  }
  return scenarios.map((scenario) => {
    const rows = results.get(scenario.id);
    const { load: _load, pid: _pid, run: _run, ...description } = scenario;
    return {
      ...description,
      connections: scenario.connections ?? connections,
      rps: median(rows.map((row) => row.rps)),
      p50: median(rows.map((row) => row.p50)),
      p99: median(rows.map((row) => row.p99)),
      rssMiB: rss.get(scenario.id),
      cpu: accounts.get(scenario.id).cores(),
      rounds: rows,
    };
  });
}
