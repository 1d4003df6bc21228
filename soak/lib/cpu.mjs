// Where the CPU went during the load: each process of the soak (the two instances, FerretDB, Redis, the
// load generator) and everything else on the machine. Other work on a shared machine lowers the request
// rate; the CPU the soak's own processes spent per request says what the same load would reach with
// the machine to itself.
import { cpus } from 'node:os';
import { cpuSeconds, machineCpuSeconds } from '../../bench/lib/processes.mjs';
import { round } from './stats.mjs';

/** The soak's processes by name: `[[name, pid]]`. */
export function soakProcesses(cluster) {
  return [
    ...cluster.instances.map((instance) => [`instance ${instance.name}`, instance.pid]),
    ['FerretDB', cluster.database.pid],
    ['Redis', cluster.redis.child.pid],
    ['load generator', process.pid],
  ];
}

export function cpuSnapshot(processes) {
  return {
    at: Date.now(),
    machine: machineCpuSeconds().busy,
    processes: processes.map(([name, pid]) => [name, cpuSeconds(pid)]),
  };
}

/**
 * From two snapshots: cores each process used on average, the rest of the machine, the CPU time of the
 * soak's processes per request, and the request rate that CPU time allows on all the machine's cores.
 */
export function cpuSummary(before, after, requests) {
  const seconds = (after.at - before.at) / 1000;
  const processes = before.processes.map(([name, start], index) => {
    const used = after.processes[index][1] - start;
    return { name, cores: round(used / seconds), usPerRequest: round((used / requests) * 1e6, 0), used };
  });
  const ours = processes.reduce((sum, { used }) => sum + (Number.isFinite(used) ? used : 0), 0);
  const machine = after.machine - before.machine;
  const cores = cpus().length;
  return {
    cores,
    processes: processes.map(({ name, cores: used, usPerRequest }) => ({ name, cores: used, usPerRequest })),
    otherProcessesCores: round(Math.max(0, machine - ours) / seconds),
    soakUsPerRequest: round((ours / requests) * 1e6, 0),
    requestsPerSecondOnIdleMachine: ours > 0 ? Math.round((requests * cores) / ours) : null,
  };
}

export function formatCpu(cpu) {
  const used = cpu.processes.map(({ name, cores }) => `${name} ${cores}`).join(', ');
  return [
    `CPU during the load, cores (of ${cpu.cores}): ${used}; other processes of the machine ${cpu.otherProcessesCores}`,
    `  per request: ${cpu.processes.map(({ name, usPerRequest }) => `${name} ${usPerRequest}`).join(', ')} µs; ` +
      `${cpu.soakUsPerRequest} µs in all: about ${cpu.requestsPerSecondOnIdleMachine} req/s with the machine to itself`,
  ];
}
