// Volume: whether GET /api/auth/verify and POST /api/auth/refresh slow down as sessions pile up. Each
// instance's database is seeded (seed.mjs) to a few sessions, then to many; after each seeding a fresh user
// logs in, so the sessions checked are the newest (the worst case for a lookup that scans), and both routes
// are measured in interleaved rounds, every instance alike.
import { Agent, request } from 'node:http';
import { expectStatus, logIn, registerUser } from './apps.mjs';
import { Latencies } from './load.mjs';
import { measureInterleaved } from './measure.mjs';
import { seedSessions } from './seed.mjs';

/** The sessions each instance's database holds at the two measurements. */
export const VOLUME_SESSIONS = [100, 50_000];
/** Connections of the verify runs, and independent refresh chains: a few, so that latency is not a queue. */
export const VOLUME_CONNECTIONS = 4;
const REQUEST_TIMEOUT_MS = 10_000;

/** One POST /api/auth/refresh with the token in the body (so the new pair comes back in the body). */
function postRefresh(target, agent, refreshToken) {
  const body = JSON.stringify({ refreshToken });
  return new Promise((resolveAnswer, reject) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.once('end', () => resolveAnswer({ status: response.statusCode, text }));
        response.once('error', reject);
      },
    );
    outgoing.once('timeout', () => outgoing.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

/**
 * Closed loop over refresh chains: each chain sends its next refresh as soon as the previous one is
 * answered, with the token that answer returned, for `durationS` seconds. Each refresh rotates the token
 * (the one presented is reuse from then on, and would revoke the session), so a chain cannot be shared
 * between connections; `chains` ({ refreshToken }) are updated in place for the next run. Resolves as
 * runClosedLoop does; rejects on any answer that is not 2xx.
 */
export async function runRefreshChains(url, chains, durationS) {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: chains.length });
  const latencies = new Latencies();
  const started = performance.now();
  const deadline = started + durationS * 1000;
  let requests = 0;
  let failure;
  const chainLoop = async (chain) => {
    while (failure === undefined && performance.now() < deadline) {
      const sentAt = performance.now();
      const { status, text } = await postRefresh(target, agent, chain.refreshToken);
      if (status < 200 || status >= 300) throw new Error(`POST ${url}: answered ${status} ${text.slice(0, 200)}`);
      latencies.add(performance.now() - sentAt);
      requests += 1;
      const next = JSON.parse(text).refreshToken;
      if (typeof next !== 'string') throw new Error(`POST ${url}: answered ${status} without a refresh token`);
      chain.refreshToken = next;
    }
  };
  try {
    // One failing chain stops the others at their next request rather than at the deadline.
    await Promise.all(chains.map((chain) => chainLoop(chain).catch((error) => (failure ??= error))));
  } finally {
    agent.destroy();
  }
  if (failure) throw failure;
  const seconds = (performance.now() - started) / 1000;
  return {
    stoppedEarly: false,
    statuses: { 200: requests },
    requests,
    seconds,
    rps: requests / seconds,
    ...latencies.summary(),
  };
}

/**
 * Seeds the instance's database up to `total` sessions, then logs a fresh user in once for verify and
 * once per refresh chain: sessions created after the seeding, among the newest.
 */
async function prepareStage(instance, { databaseUri, total }) {
  const started = performance.now();
  // No idle-expired sessions: the app's purge would delete them during the rest of the run.
  const counts = await seedSessions({ uri: databaseUri, databaseName: instance.databaseName, total, idleEnded: false });
  const seedSeconds = (performance.now() - started) / 1000;
  const user = await registerUser(instance.label, instance.base, 'bench_vol');
  const sessions = await Promise.all(
    Array.from({ length: 1 + VOLUME_CONNECTIONS }, () => logIn(instance.label, instance.base, user)),
  );
  const [verifySession, ...chainSessions] = sessions;
  const token = verifySession.accessToken;
  await expectStatus(instance.label, `${instance.base}/api/auth/verify`, { authorization: `Bearer ${token}` }, 204);
  return { ...counts, seedSeconds, token, chains: chainSessions.map(({ refreshToken }) => ({ refreshToken })) };
}

const sessionsText = (total) => total.toLocaleString('en-US');

function stageScenarios(instance, total, stage) {
  const common = {
    instance: instance.id,
    instanceLabel: instance.label,
    adapter: instance.adapter,
    redis: instance.redis,
    stage: total,
    pid: instance.pid,
  };
  const refreshUrl = `${instance.base}/api/auth/refresh`;
  return [
    {
      ...common,
      id: `${instance.id}-volume-${total}-verify`,
      kind: 'volume-verify',
      route: 'verify',
      label: `${instance.label} GET /api/auth/verify at ${sessionsText(total)} sessions`,
      connections: VOLUME_CONNECTIONS,
      load: { url: `${instance.base}/api/auth/verify`, headers: { authorization: `Bearer ${stage.token}` } },
    },
    {
      ...common,
      id: `${instance.id}-volume-${total}-refresh`,
      kind: 'volume-refresh',
      route: 'refresh',
      label: `${instance.label} POST /api/auth/refresh at ${sessionsText(total)} sessions`,
      connections: VOLUME_CONNECTIONS,
      run: (seconds) => runRefreshChains(refreshUrl, stage.chains, seconds),
    },
  ];
}

/**
 * Both stages of VOLUME_SESSIONS on every instance in `instances` (the database stays at the last count
 * afterwards). Returns the figures, and per instance an access token of a session created after the last
 * seeding: what the later scenarios send, so that they too run against a full database.
 */
export async function measureVolume(instances, { databaseUri, measuring }) {
  const { log } = measuring;
  const entries = new Map(
    instances.map((instance) => [
      instance.id,
      {
        instance: instance.id,
        instanceLabel: instance.label,
        adapter: instance.adapter,
        redis: instance.redis,
        stages: [],
      },
    ]),
  );
  const tokens = {};
  // The Redis-mode instances scan their revocation records every 2 s (catch-up): filled last, so that
  // those scans, longer once filled, slow down fewer of the fillings.
  const fillingOrder = [...instances].sort((a, b) => Number(a.redis) - Number(b.redis));
  for (const total of VOLUME_SESSIONS) {
    const prepared = new Map();
    for (const instance of fillingOrder) {
      log(`volume: filling ${instance.label}'s database up to ${sessionsText(total)} sessions`);
      prepared.set(instance.id, await prepareStage(instance, { databaseUri, total }));
    }
    const scenarios = instances.flatMap((instance) => stageScenarios(instance, total, prepared.get(instance.id)));
    const results = await measureInterleaved(scenarios, {
      ...measuring,
      phase: `volume at ${sessionsText(total)} sessions`,
    });
    for (const instance of instances) {
      const { users, sessions, seedSeconds, token } = prepared.get(instance.id);
      const of = (route) => results.find((result) => result.instance === instance.id && result.route === route);
      entries
        .get(instance.id)
        .stages.push({ total, users, sessions, seedSeconds, verify: of('verify'), refresh: of('refresh') });
      tokens[instance.id] = token;
    }
  }
  return {
    volume: { sessions: VOLUME_SESSIONS, connections: VOLUME_CONNECTIONS, instances: [...entries.values()] },
    tokens,
  };
}
