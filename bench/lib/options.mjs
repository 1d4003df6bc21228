// Command-line flags of bench/run-bench.mjs.

export const USAGE = `Usage: npm run bench [-- options]      (or: node bench/run-bench.mjs [options] after npm run build)

  --rounds N             interleaved measured rounds per scenario, the volume runs included (default 3)
  --duration S           seconds per round (default 5)
  --warmup S             seconds of warm-up per scenario, not measured (default 3)
  --connections N        connections of the throughput scenarios (default 20; the volume runs use 4)
  --login-connections N  connections of the login scenarios and of the login storm (default 8)
  --rss-requests N       guarded requests between the two RSS readings (default 200000)
  --rss-seconds S        at most this long for them per instance; fewer requests then (default 120);
                         the first reading follows 10 s of the same requests
  --storm-rate N         GET /api/auth/verify per second during the storm comparison
                         (default: an eighth of what that instance served in the throughput rounds)
  --flood-connections N  connections of the account flooding wrong password changes (default 64)
  --flood-rate N         other users' POST /api/auth/login per second during the flood comparison (default 8)
  --flood-only           only the password-change flood (one instance, no Redis): a quick look at that
                         target; results go to bench/results/bench-<date>-flood-only.*, not latest.*
  --proxy-only           only the scenarios through nginx: FerretDB, Redis, the two Redis-mode instances, the
                         upstream and nginx; results go to bench/results/bench-<date>-proxy-only.*, not latest.*
  --guard-only           only the guard package in the example resource service: FerretDB, two auth instances
                         (EdDSA, feed on) and the example; results go to bench/results/bench-<date>-guard-only.json
  --quick                smoke run of about five minutes: 1 round of 2 s, 1 s warm-up, 20000 RSS requests
                         (filling the four databases to 50,000 sessions takes more than a minute of it)
  --update-docs          also rewrite docs/performance.md between <!-- bench:start --> and <!-- bench:end -->
                         and docs/bench/bench-chart.svg (refused together with --quick)
  --help                 this text`;

const NUMERIC = {
  rounds: 'rounds',
  duration: 'durationS',
  warmup: 'warmupS',
  connections: 'connections',
  'login-connections': 'loginConnections',
  'rss-requests': 'rssRequests',
  'rss-seconds': 'rssMaxSeconds',
  'storm-rate': 'stormRate',
  'flood-connections': 'floodConnections',
  'flood-rate': 'floodLoginRate',
};
const BOOLEAN = {
  quick: 'quick',
  'update-docs': 'updateDocs',
  help: 'help',
  'flood-only': 'floodOnly',
  'proxy-only': 'proxyOnly',
  'guard-only': 'guardOnly',
};

const DEFAULTS = {
  rounds: 3,
  durationS: 5,
  warmupS: 3,
  connections: 20,
  loginConnections: 8,
  rssRequests: 200_000,
  rssMaxSeconds: 120,
  // Longer than the throughput warm-up: the heap of a database-mode instance takes seconds to settle.
  rssWarmupS: 10,
  stormRate: undefined,
  floodConnections: 64,
  floodLoginRate: 8,
};
const QUICK = { rounds: 1, durationS: 2, warmupS: 1, rssRequests: 20_000, rssWarmupS: 3 };

export function parseOptions(argv) {
  const given = {};
  for (let index = 0; index < argv.length; index++) {
    const [flag, inlineValue] = argv[index].split('=', 2);
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in NUMERIC || name in BOOLEAN))
      throw new Error(`unknown option ${argv[index]}`);
    if (name in BOOLEAN) {
      given[BOOLEAN[name]] = true;
      continue;
    }
    const text = inlineValue ?? argv[++index];
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    given[NUMERIC[name]] = value;
  }
  const options = { ...DEFAULTS, ...(given.quick ? QUICK : {}), ...given };
  if (options.quick && options.updateDocs) {
    throw new Error('--update-docs with --quick: a smoke run is too short for the figures docs/performance.md shows');
  }
  if (options.floodOnly && options.updateDocs) {
    throw new Error('--update-docs with --flood-only: docs/performance.md shows every scenario of one run');
  }
  if (options.proxyOnly && options.updateDocs) {
    throw new Error('--update-docs with --proxy-only: docs/performance.md shows every scenario of one run');
  }
  if (options.proxyOnly && options.floodOnly) throw new Error('--proxy-only and --flood-only measure different things');
  options.rounds = Math.round(options.rounds);
  return options;
}
