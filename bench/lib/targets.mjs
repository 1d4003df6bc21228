// The project's performance targets, checked against one run's figures.
import { mibText, msText, percentText, ratioText, rpsText, statusesText } from './format.mjs';

export const TARGETS = {
  fastifyLiveVsCeiling: 0.5,
  fastifyRedisVerifyVsCeiling: 0.35,
  expressLiveVsBareExpress: 0.7,
  redisVerifyVsLive: 0.85,
  databaseVerifyVsLive: 0.5,
  volumeP50Ratio: 1.5,
  verifyVsTutorial: 3,
  stormP99Ratio: 3,
  floodP99Ratio: 3,
  rssGrowthPercent: 10,
  proxyAuthVsNoAuth: 0.5,
};

/** Answers that were not 2xx: such a figure is not the speed of the path it names. */
const failuresText = (scenario, which) =>
  scenario.failed > 0
    ? `; ${rpsText(scenario.failed)} answers not 2xx ${which} (${statusesText(scenario.statuses)})`
    : '';

/** A check that `scenario` serves at least `minimum` × `reference` req/s; none when the reference was not measured. */
function rpsCheck(scenario, reference, minimum) {
  if (!reference) return [];
  const ratio = scenario.rps / reference.rps;
  return [
    {
      subject: scenario.instanceLabel,
      value: ratio,
      met: ratio >= minimum,
      detail: `${ratioText(ratio)} (${rpsText(scenario.rps)} vs ${rpsText(reference.rps)} req/s)`,
    },
  ];
}

/** p50 with many sessions stored against p50 with few, per instance and route. */
function volumeChecks(volume) {
  return (volume?.instances ?? []).flatMap((entry) => {
    const few = entry.stages[0];
    const many = entry.stages.at(-1);
    return ['verify', 'refresh'].map((route) => {
      const ratio = many[route].p50 / few[route].p50;
      return {
        subject: `${entry.instanceLabel} ${route}`,
        value: ratio,
        met: ratio <= TARGETS.volumeP50Ratio,
        detail:
          `${ratioText(ratio)} (p50 ${msText(many[route].p50)} ms at ${rpsText(many.total)} sessions vs ` +
          `${msText(few[route].p50)} ms at ${rpsText(few.total)}; p99 ${msText(many[route].p99)} vs ${msText(few[route].p99)} ms)`,
      };
    });
  });
}

/** Each target with its checks; a target is met when every check is. */
export function checkTargets({ scenarios, storm, rss, flood = [], proxy = [], volume }) {
  const byId = new Map(scenarios.map((scenario) => [scenario.id, scenario]));
  const verifies = scenarios.filter((scenario) => scenario.kind === 'verify');
  const lives = scenarios.filter((scenario) => scenario.kind === 'live');
  const liveOf = (verify) => byId.get(`${verify.instance}-live`);
  const ceiling = byId.get('ceiling');
  const tutorial = byId.get('tutorial-verify');
  const targets = [];

  targets.push({
    id: 'fastify-live-vs-ceiling',
    title: `On Fastify, GET /health/live ≥ ${TARGETS.fastifyLiveVsCeiling}× the bare node:http ceiling`,
    checks: lives
      .filter((live) => live.adapter === 'fastify')
      .flatMap((live) => rpsCheck(live, ceiling, TARGETS.fastifyLiveVsCeiling)),
  });

  targets.push({
    id: 'fastify-redis-verify-vs-ceiling',
    title: `On Fastify with Redis, GET /api/auth/verify ≥ ${TARGETS.fastifyRedisVerifyVsCeiling}× the bare node:http ceiling`,
    checks: verifies
      .filter((verify) => verify.adapter === 'fastify' && verify.redis)
      .flatMap((verify) => rpsCheck(verify, ceiling, TARGETS.fastifyRedisVerifyVsCeiling)),
  });

  targets.push({
    id: 'express-live-vs-bare-express',
    title: `On Express, GET /health/live ≥ ${TARGETS.expressLiveVsBareExpress}× a bare Express 5 route answering 204`,
    checks: lives
      .filter((live) => live.adapter === 'express')
      .flatMap((live) => rpsCheck(live, byId.get('bare-express'), TARGETS.expressLiveVsBareExpress)),
  });

  targets.push({
    id: 'redis-verify-vs-live',
    title: `With Redis, GET /api/auth/verify ≥ ${TARGETS.redisVerifyVsLive}× GET /health/live of the same instance`,
    checks: verifies
      .filter((verify) => verify.redis)
      .flatMap((verify) => rpsCheck(verify, liveOf(verify), TARGETS.redisVerifyVsLive)),
  });

  targets.push({
    id: 'database-verify-vs-live',
    title: `With the database, GET /api/auth/verify ≥ ${TARGETS.databaseVerifyVsLive}× GET /health/live of the same instance`,
    checks: verifies
      .filter((verify) => !verify.redis)
      .flatMap((verify) => rpsCheck(verify, liveOf(verify), TARGETS.databaseVerifyVsLive)),
  });

  targets.push({
    id: 'volume-p50',
    title:
      `With ${rpsText(volume?.sessions.at(-1))} sessions stored, p50 of GET /api/auth/verify and of POST /api/auth/refresh ` +
      `≤ ${TARGETS.volumeP50Ratio}× their p50 with ${rpsText(volume?.sessions[0])}, the checked session among the newest`,
    checks: volumeChecks(volume),
  });

  targets.push({
    id: 'verify-vs-tutorial',
    title: `GET /api/auth/verify ≥ ${TARGETS.verifyVsTutorial}× the tutorial's middleware (jwt.verify + User.findById)`,
    checks: verifies.flatMap((verify) => rpsCheck(verify, tutorial, TARGETS.verifyVsTutorial)),
  });

  targets.push({
    id: 'storm-p99',
    title: `p99 of GET /api/auth/verify during a login storm ≤ ${TARGETS.stormP99Ratio}× its p99 without one`,
    checks: storm.map((entry) => ({
      subject: entry.instanceLabel,
      value: entry.ratio,
      met: entry.ratio <= TARGETS.stormP99Ratio,
      detail: `${ratioText(entry.ratio)} (${msText(entry.storm.p99)} ms vs ${msText(entry.idle.p99)} ms at ${rpsText(entry.rate)} req/s)`,
    })),
  });

  targets.push({
    id: 'flood-p99',
    title: `p99 of other users' POST /api/auth/login during a flood of wrong password changes from one account ≤ ${TARGETS.floodP99Ratio}× its p99 without one`,
    checks: flood.map((entry) => ({
      subject: entry.instanceLabel,
      value: entry.ratio,
      met: entry.ratio <= TARGETS.floodP99Ratio,
      detail: `${ratioText(entry.ratio)} (${msText(entry.flood.p99)} ms vs ${msText(entry.idle.p99)} ms at ${rpsText(entry.rate)} logins/s, ${entry.connections} flooding connections)`,
    })),
  });

  targets.push({
    id: 'rss-growth',
    title: `RSS grows < ${TARGETS.rssGrowthPercent} % over the guarded requests after warm-up`,
    checks: rss.map((entry) => ({
      subject: entry.instanceLabel,
      value: entry.growthPercent,
      met: entry.growthPercent < TARGETS.rssGrowthPercent,
      detail:
        `${percentText(entry.growthPercent)} over ${rpsText(entry.requests)} requests` +
        `${entry.stoppedEarly ? ' (time bound reached first)' : ''} ` +
        `(${mibText(entry.beforeMiB)} → ${mibText(entry.afterMiB)} MiB` +
        `${Number.isFinite(entry.trendMiBPer100k) ? `; trend ${entry.trendMiBPer100k.toFixed(1)} MiB per 100k requests` : ''})`,
    })),
  });

  const noAuth = proxy.find((scenario) => scenario.kind === 'proxy');
  targets.push({
    id: 'proxy-auth-vs-no-auth',
    title:
      `Through nginx (deploy/nginx.conf), requests to /app/ checked by auth_request with GET /api/auth/verify ` +
      `≥ ${TARGETS.proxyAuthVsNoAuth}× the same requests proxied without auth`,
    checks: proxy
      .filter((scenario) => scenario.kind === 'proxy-auth')
      .map((scenario) => {
        const ratio = scenario.rps / noAuth.rps;
        const clean = scenario.failed === 0 && noAuth.failed === 0;
        return {
          subject: scenario.instanceLabel,
          value: ratio,
          met: ratio >= TARGETS.proxyAuthVsNoAuth && clean,
          detail:
            `${ratioText(ratio)} (${rpsText(scenario.rps)} vs ${rpsText(noAuth.rps)} req/s, ` +
            `p50 ${msText(scenario.p50)} vs ${msText(noAuth.p50)} ms, p99 ${msText(scenario.p99)} vs ${msText(noAuth.p99)} ms` +
            `${failuresText(scenario, 'with auth')}${failuresText(noAuth, 'without auth')})`,
        };
      }),
  });

  // A target the run did not measure (--flood-only) is left out, not reported as met.
  return targets
    .filter((target) => target.checks.length > 0)
    .map((target) => ({ ...target, met: target.checks.every((check) => check.met) }));
}
