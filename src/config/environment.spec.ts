import { Logger } from '@nestjs/common';
import {
  EnvironmentValidationError,
  MAX_REFRESH_REUSE_GRACE_MS,
  MIN_SECRET_LENGTH,
  parseEnvironment,
} from './environment';

const ACCESS_SECRET = 'access-Secret-0123456789-abcdefghijklmnopqrstuv';
const REFRESH_SECRET = 'refresh-Secret-9876543210-zyxwvutsrqponmlkjihgf';
const SECRETS = { ACCESS_TOKEN_SECRET: ACCESS_SECRET, REFRESH_TOKEN_SECRET: REFRESH_SECRET };
const PRODUCTION = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db.internal:27017/auth', ...SECRETS };

/** The problems parseEnvironment reports for `raw`; fails the test when it accepts it. */
function problemsOf(raw: Record<string, string | undefined>): string[] {
  try {
    parseEnvironment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentValidationError);
    return (error as EnvironmentValidationError).problems;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

function problemNaming(variable: string) {
  return expect.arrayContaining([expect.stringContaining(variable)]);
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe(parseEnvironment.name, () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  describe('defaults', () => {
    it('matches the contract table when nothing but the secrets is set', () => {
      const sut = parseEnvironment({ ...SECRETS });

      expect(sut).toMatchObject({
        nodeEnv: 'development',
        port: 3000,
        host: '127.0.0.1',
        accessTokenTtlMs: 15 * MINUTE,
        refreshTokenTtlMs: 7 * DAY,
        sessionMaxLifetimeMs: 30 * DAY,
        refreshReuseGraceMs: 10_000,
        passwordHashQueueLimit: 64,
        cookieSecure: true,
        cookieSameSite: 'strict',
        authRateLimit: 100,
        loginMaxFailures: 5,
        loginFailureWindowMs: 15 * MINUTE,
        corsOrigins: [],
        trustProxy: false,
        mongodbUri: undefined,
        redis: undefined,
        adminUsername: undefined,
        adminPassword: undefined,
      });
    });

    it('listens on every interface by default in production', () => {
      expect(parseEnvironment(PRODUCTION).host).toBe('0.0.0.0');
    });

    it('uses the configured secrets as given and does not mark them generated', () => {
      const sut = parseEnvironment({ ...SECRETS });

      expect(sut).toMatchObject({
        accessTokenSecret: ACCESS_SECRET,
        refreshTokenSecret: REFRESH_SECRET,
        secretsGenerated: false,
      });
    });
  });

  describe('durations', () => {
    it('parses ms-style strings and takes a bare number as milliseconds', () => {
      const sut = parseEnvironment({
        ...SECRETS,
        ACCESS_TOKEN_EXPIRY: '90s',
        REFRESH_TOKEN_EXPIRY: '2h',
        SESSION_MAX_LIFETIME: '1500',
        LOGIN_FAILURE_WINDOW: '1m',
      });

      expect(sut).toMatchObject({
        accessTokenTtlMs: 90_000,
        refreshTokenTtlMs: 2 * 60 * MINUTE,
        sessionMaxLifetimeMs: 1500,
        loginFailureWindowMs: MINUTE,
      });
    });

    it('accepts REFRESH_REUSE_GRACE=0, which turns the grace period off', () => {
      expect(parseEnvironment({ ...SECRETS, REFRESH_REUSE_GRACE: '0' }).refreshReuseGraceMs).toBe(0);
    });

    it('accepts a REFRESH_REUSE_GRACE of exactly the maximum', () => {
      expect(parseEnvironment({ ...SECRETS, REFRESH_REUSE_GRACE: '60s' }).refreshReuseGraceMs).toBe(
        MAX_REFRESH_REUSE_GRACE_MS,
      );
    });

    // A grace is a window in which a stolen, already rotated refresh token is still honoured.
    it.each(['61s', '5m', '1d'])('refuses REFRESH_REUSE_GRACE=%j, longer than a minute, in one problem', (value) => {
      const problems = problemsOf({ ...SECRETS, REFRESH_REUSE_GRACE: value });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^REFRESH_REUSE_GRACE\b/);
      expect(problems[0]).toContain(`"${value}"`);
    });

    it.each(['ACCESS_TOKEN_EXPIRY', 'REFRESH_TOKEN_EXPIRY', 'SESSION_MAX_LIFETIME', 'LOGIN_FAILURE_WINDOW'])(
      'refuses %s=0, a lifetime that would end before it starts',
      (variable) => {
        expect(problemsOf({ ...SECRETS, [variable]: '0' })).toEqual(problemNaming(variable));
      },
    );

    it.each(['soon', '-5s', '15 minutes ago', '1e3'])('refuses ACCESS_TOKEN_EXPIRY=%j', (value) => {
      expect(problemsOf({ ...SECRETS, ACCESS_TOKEN_EXPIRY: value })).toEqual(problemNaming('ACCESS_TOKEN_EXPIRY'));
    });
  });

  describe('production', () => {
    it('requires both secrets and MONGODB_URI, naming each one', () => {
      const problems = problemsOf({ NODE_ENV: 'production' });

      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^ACCESS_TOKEN_SECRET\b/),
          expect.stringMatching(/^REFRESH_TOKEN_SECRET\b/),
          expect.stringMatching(/^MONGODB_URI\b/),
        ]),
      );
    });

    it('names only the missing secret when the other one is set', () => {
      const problems = problemsOf({ ...PRODUCTION, REFRESH_TOKEN_SECRET: undefined });

      expect(problems).toEqual(problemNaming('REFRESH_TOKEN_SECRET'));
      expect(problems.filter((problem) => problem.includes('ACCESS_TOKEN_SECRET'))).toEqual([]);
    });

    it('refuses a MONGODB_URI that is not a mongodb:// or mongodb+srv:// URL', () => {
      expect(problemsOf({ ...PRODUCTION, MONGODB_URI: 'http://db.internal' })).toEqual(problemNaming('MONGODB_URI'));
    });
  });

  describe('secrets', () => {
    const environments = [{}, { NODE_ENV: 'test' }, PRODUCTION];

    it.each(environments)('refuses a secret shorter than 32 characters (%j)', (base) => {
      const short = 'Ab3$'.repeat(8).slice(0, MIN_SECRET_LENGTH - 1);

      expect(problemsOf({ ...base, ...SECRETS, ACCESS_TOKEN_SECRET: short })).toEqual(
        problemNaming('ACCESS_TOKEN_SECRET'),
      );
    });

    it.each(environments)('refuses a long but low-variety secret such as "a" x 40 (%j)', (base) => {
      expect(problemsOf({ ...base, ...SECRETS, REFRESH_TOKEN_SECRET: 'a'.repeat(40) })).toEqual(
        problemNaming('REFRESH_TOKEN_SECRET'),
      );
    });

    it.each(environments)('refuses equal access and refresh secrets (%j)', (base) => {
      expect(problemsOf({ ...base, ACCESS_TOKEN_SECRET: ACCESS_SECRET, REFRESH_TOKEN_SECRET: ACCESS_SECRET })).toEqual(
        problemNaming('REFRESH_TOKEN_SECRET'),
      );
    });

    it('generates two different secrets of at least 32 characters in development when none are set', () => {
      const sut = parseEnvironment({});

      expect(sut.secretsGenerated).toBe(true);
      expect(sut.accessTokenSecret.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
      expect(sut.refreshTokenSecret.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
      expect(sut.accessTokenSecret).not.toBe(sut.refreshTokenSecret);
    });

    it('hands out the same generated secrets on every call in one process', () => {
      const first = parseEnvironment({});
      const second = parseEnvironment({ PORT: '4000' });

      expect(second.accessTokenSecret).toBe(first.accessTokenSecret);
      expect(second.refreshTokenSecret).toBe(first.refreshTokenSecret);
    });

    it('warns about generated secrets once per process, not on every call', () => {
      jest.isolateModules(() => {
        // A fresh copy of the module (and of Logger), as in a new process.
        const { Logger } = jest.requireActual<typeof import('@nestjs/common')>('@nestjs/common');
        const fresh = jest.requireActual<typeof import('./environment')>('./environment');
        const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

        fresh.parseEnvironment({});
        fresh.parseEnvironment({});

        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('ACCESS_TOKEN_SECRET'));
        warn.mockRestore();
      });
    });
  });

  describe('CORS_ORIGINS', () => {
    it('parses a comma-separated list into origins', () => {
      const sut = parseEnvironment({ ...SECRETS, CORS_ORIGINS: 'https://app.example.com/, http://localhost:5173' });

      expect(sut.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    });

    it.each(['*', 'https://app.example.com,*', 'app.example.com', 'file:///etc/passwd'])('refuses %j', (value) => {
      expect(problemsOf({ ...SECRETS, CORS_ORIGINS: value })).toEqual(problemNaming('CORS_ORIGINS'));
    });
  });

  describe('PASSWORD_HASH_QUEUE_LIMIT', () => {
    it.each([
      ['0', 0],
      ['1', 1],
      ['100000', 100_000],
    ])('takes %j', (value, limit) => {
      expect(parseEnvironment({ ...SECRETS, PASSWORD_HASH_QUEUE_LIMIT: value }).passwordHashQueueLimit).toBe(limit);
    });

    it.each(['-1', '100001', 'many', '1.5'])('refuses %j', (value) => {
      expect(problemsOf({ ...SECRETS, PASSWORD_HASH_QUEUE_LIMIT: value })).toEqual(
        problemNaming('PASSWORD_HASH_QUEUE_LIMIT'),
      );
    });
  });

  // The parsing itself: trust-proxy.spec.ts. Here, that its verdict reaches the environment.
  describe('TRUST_PROXY', () => {
    it('passes an accepted value through', () => {
      expect(parseEnvironment({ ...SECRETS, TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual([
        'loopback',
        '10.0.0.0/8',
      ]);
    });

    it.each(['11', 'true', '0.0.0.0/0', '::/0', '::ffff:0:0/96'])('refuses %j with one problem naming it', (value) => {
      const problems = problemsOf({ ...SECRETS, TRUST_PROXY: value });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^TRUST_PROXY\b/);
    });
  });

  describe('Redis', () => {
    it('reads the cluster variables, the password verbatim', () => {
      const sut = parseEnvironment({
        ...SECRETS,
        REDIS_CLUSTER_NODES: 'redis-1:7000,redis-2:7000',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: ' pass ',
      });

      expect(sut.redis).toEqual({
        mode: 'cluster',
        nodes: [
          { host: 'redis-1', port: 7000 },
          { host: 'redis-2', port: 7000 },
        ],
        username: 'app',
        password: ' pass ',
      });
    });

    it('reads the Sentinel variables', () => {
      const sut = parseEnvironment({ ...SECRETS, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'auth' });

      expect(sut.redis).toMatchObject({
        mode: 'sentinel',
        masterName: 'auth',
        sentinels: [{ host: 's1', port: 26379 }],
      });
    });

    it('refuses two Redis topologies at once', () => {
      expect(problemsOf({ ...SECRETS, REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 's1:26379' })).toEqual([
        expect.stringContaining('Set only one of REDIS_URL, REDIS_SENTINELS'),
      ]);
    });
  });

  describe('first administrator', () => {
    it('refuses ADMIN_USERNAME without ADMIN_PASSWORD', () => {
      expect(problemsOf({ ...SECRETS, ADMIN_USERNAME: 'root' })).toEqual(problemNaming('ADMIN_PASSWORD'));
    });

    it('takes ADMIN_USERNAME and ADMIN_PASSWORD together, the password verbatim', () => {
      const sut = parseEnvironment({ ...SECRETS, ADMIN_USERNAME: 'root', ADMIN_PASSWORD: ' correct horse ' });

      expect(sut).toMatchObject({ adminUsername: 'root', adminPassword: ' correct horse ' });
    });
  });

  describe('invalid values', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['COOKIE_SAMESITE', 'none'],
      ['COOKIE_SECURE', 'maybe'],
      ['AUTH_RATE_LIMIT', '-1'],
      ['LOGIN_MAX_FAILURES', '0'],
      ['NODE_ENV', 'staging'],
      ['REDIS_URL', 'http://cache'],
    ])('reports %s=%j as a problem naming the variable', (variable, value) => {
      expect(problemsOf({ ...SECRETS, [variable]: value })).toEqual(problemNaming(variable));
    });

    it('reports several problems together, each in the error message', () => {
      let caught: unknown;
      try {
        parseEnvironment({ ...SECRETS, PORT: 'abc', COOKIE_SAMESITE: 'none', ACCESS_TOKEN_EXPIRY: '0' });
      } catch (error) {
        caught = error;
      }

      expect(caught).toBeInstanceOf(EnvironmentValidationError);
      const { problems, message } = caught as EnvironmentValidationError;
      expect(problems).toHaveLength(3);
      for (const variable of ['PORT', 'COOKIE_SAMESITE', 'ACCESS_TOKEN_EXPIRY']) {
        expect(problems).toEqual(problemNaming(variable));
        expect(message).toContain(variable);
      }
    });
  });
});
