// The password-change flood: other users' login latency while one account sends wrong password changes as
// fast as it is answered. Password checks are the one costly thing a client can make the server do, so a
// flood of them must be refused by the limits before it reaches the hashing threads.
import { randomBytes } from 'node:crypto';
import { postJson } from './apps.mjs';
import { median, runClosedLoop, runOpenLoop, summarizeRounds } from './load.mjs';
import { CpuAccount, PAUSE_MS } from './measure.mjs';
import { sleep } from './processes.mjs';

/**
 * The product's default limits (the other instances turn them off to measure throughput), behind a proxy
 * on loopback so that each client of the run has an address of its own, as it would in production.
 */
export const FLOOD_INSTANCE = {
  id: 'express-db-limits',
  label: 'Express+DB, default limits',
  adapter: 'express',
  redis: false,
  env: { AUTH_RATE_LIMIT: '100', LOGIN_MAX_FAILURES: '5', LOGIN_FAILURE_WINDOW: '15m', TRUST_PROXY: 'loopback' },
};

/** Enough users, each from its own address, that none of them comes near AUTH_RATE_LIMIT. */
const VICTIMS = 16;
const PASSWORD = 'bench-flood-password-1';
const from = (address) => ({ 'content-type': 'application/json', 'x-forwarded-for': address });

async function registerUser(base, username, address) {
  const registered = await postJson(`${base}/api/auth/register`, { username, password: PASSWORD }, from(address));
  if (registered.status !== 201) throw new Error(`flood: register answered ${registered.status}`);
}

/** A new account and address each round: every round starts with a whole LOGIN_MAX_FAILURES to spend. */
async function newAttacker(base, round) {
  const username = `bench_f_${randomBytes(4).toString('hex')}`;
  const address = `203.0.113.${(round % 250) + 1}`;
  await registerUser(base, username, address);
  const login = await postJson(`${base}/api/auth/login`, { username, password: PASSWORD }, from(address));
  if (login.status !== 200) throw new Error(`flood: attacker login answered ${login.status}`);
  return { ...from(address), authorization: `Bearer ${login.body.accessToken}` };
}

/**
 * Other users log in at a fixed rate (open loop, one user and address after another), first alone, then
 * while `floodConnections` connections of one account send wrong password changes as fast as they are
 * answered, in alternating rounds. Every flood answer must be a refusal (403, 429 or 503), never a 2xx.
 */
export async function measureFlood(instance, { rounds, durationS, floodConnections, floodLoginRate, services, log }) {
  const victims = Array.from({ length: VICTIMS }, (_, index) => ({
    username: `bench_o_${randomBytes(4).toString('hex')}`,
    address: `198.51.100.${index + 1}`,
  }));
  for (const victim of victims) await registerUser(instance.base, victim.username, victim.address);
  const bodies = victims.map((victim) => JSON.stringify({ username: victim.username, password: PASSWORD }));
  const loginLoad = {
    url: `${instance.base}/api/auth/login`,
    method: 'POST',
    rate: floodLoginRate,
    durationS,
    requestFor: (index) => ({ headers: from(victims[index % VICTIMS].address), body: bodies[index % VICTIMS] }),
  };
  log(
    `password-change flood on ${instance.label}: logins at ${floodLoginRate}/s, alone and while ` +
      `${floodConnections} connections send wrong password changes`,
  );
  const idleRounds = [];
  const floodRounds = [];
  const statuses = {};
  const idleCpu = new CpuAccount(services);
  const floodCpu = new CpuAccount(services);
  for (let round = 1; round <= rounds; round++) {
    idleRounds.push(await idleCpu.measure(instance.pid, () => runOpenLoop(loginLoad)));
    await sleep(PAUSE_MS);
    const flood = runClosedLoop({
      url: `${instance.base}/api/users/me/password`,
      method: 'PATCH',
      headers: await newAttacker(instance.base, round),
      body: JSON.stringify({ currentPassword: 'not-the-password', newPassword: 'another-password-1' }),
      connections: floodConnections,
      durationS: durationS + 1,
      accept: (status) => status === 403 || status === 429 || status === 503,
    });
    // Awaited below; this only keeps a failure during the login run from going unhandled meanwhile.
    flood.catch(() => undefined);
    // Half a second for the flood to reach the server before the measured logins start.
    await sleep(500);
    const logins = await floodCpu.measure(instance.pid, () => runOpenLoop(loginLoad));
    const flooded = await flood;
    for (const [status, count] of Object.entries(flooded.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
    floodRounds.push({ ...logins, floodRps: flooded.rps });
    await sleep(PAUSE_MS);
  }
  const idle = summarizeRounds(idleRounds, idleCpu);
  const during = {
    ...summarizeRounds(floodRounds, floodCpu),
    floodRps: median(floodRounds.map((row) => row.floodRps)),
    statuses,
  };
  return {
    instance: instance.id,
    instanceLabel: instance.label,
    rate: floodLoginRate,
    connections: floodConnections,
    idle,
    flood: during,
    ratio: during.p99 / idle.p99,
  };
}
