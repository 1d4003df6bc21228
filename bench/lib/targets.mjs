// The project's performance targets (issue 6), checked against one run's figures.
import { mibText, msText, percentText, ratioText, rpsText, statusesText } from './format.mjs';

export const TARGETS = {
  verifyVsLive: 0.85,
  fastifyVsCeiling: 0.6,
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

/** Each target with its checks; a target is met when every check is. */
export function checkTargets({ scenarios, storm, rss, flood = [], proxy = [] }) {
  const byId = new Map(scenarios.map((scenario) => [scenario.id, scenario]));
  const verifies = scenarios.filter((scenario) => scenario.kind === 'verify');
  const tutorial = byId.get('tutorial-verify');
  const targets = [];

  targets.push({
    id: 'verify-vs-live',
    title: `GET /api/auth/verify ≥ ${TARGETS.verifyVsLive}× GET /health/live of the same instance, in both revocation modes`,
    checks: verifies.map((verify) => {
      const live = byId.get(`${verify.instance}-live`);
      const ratio = verify.rps / live.rps;
      return {
        subject: verify.instanceLabel,
        value: ratio,
        met: ratio >= TARGETS.verifyVsLive,
        detail: `${ratioText(ratio)} (${rpsText(verify.rps)} vs ${rpsText(live.rps)} req/s)`,
      };
    }),
  });

  const ceiling = byId.get('ceiling');
  targets.push({
    id: 'fastify-vs-ceiling',
    title: `On Fastify, GET /api/auth/verify ≥ ${TARGETS.fastifyVsCeiling}× the bare node:http ceiling`,
    checks: verifies
      .filter((verify) => verify.adapter === 'fastify')
      .map((verify) => {
        const ratio = verify.rps / ceiling.rps;
        return {
          subject: verify.instanceLabel,
          value: ratio,
          met: ratio >= TARGETS.fastifyVsCeiling,
          detail: `${ratioText(ratio)} (${rpsText(verify.rps)} vs ${rpsText(ceiling.rps)} req/s)`,
        };
      }),
  });

  targets.push({
    id: 'verify-vs-tutorial',
    title: `GET /api/auth/verify ≥ ${TARGETS.verifyVsTutorial}× the tutorial's middleware (jwt.verify + User.findById)`,
    checks: verifies.map((verify) => {
      const ratio = verify.rps / tutorial.rps;
      return {
        subject: verify.instanceLabel,
        value: ratio,
        met: ratio >= TARGETS.verifyVsTutorial,
        detail: `${ratioText(ratio)} (${rpsText(verify.rps)} vs ${rpsText(tutorial.rps)} req/s)`,
      };
    }),
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
