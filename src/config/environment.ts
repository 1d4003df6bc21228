import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import ms, { type StringValue } from 'ms';
import { parseAccessTokenSigning, type AccessTokenSigning } from './access-token-signing';
import { parseRedisTopology, type RedisTopology } from './redis-topology';
import { parseTrustProxy } from './trust-proxy';

/**
 * The one place that reads `process.env`. Every variable is parsed and checked here, once, into a
 * typed object; the per-feature config factories (`*.config.ts`) only pick their part of it.
 */
export interface Environment {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  mongodbUri: string | undefined;
  mongodbDbName: string | undefined;
  embeddedDbDir: string;
  toolCacheDir: string;
  /** Unset: revocation state and rate limits live in the database. */
  redis: RedisTopology | undefined;
  accessTokenSecret: string;
  refreshTokenSecret: string;
  /** True when the secrets were generated for this process because none were configured. */
  secretsGenerated: boolean;
  /** The credential of services reading GET /api/auth/revocations; unset: the feed is off. */
  revocationFeedToken: string | undefined;
  /** ACCESS_TOKEN_ALGORITHM and its keys: HS256 with accessTokenSecret, or EdDSA / ES256. */
  accessTokenSigning: AccessTokenSigning;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  sessionMaxLifetimeMs: number;
  refreshReuseGraceMs: number;
  /** Password hashes that may wait for a hashing thread; beyond it, 503. */
  passwordHashQueueLimit: number;
  cookieSecure: boolean;
  cookieSameSite: 'strict' | 'lax';
  authRateLimit: number;
  passwordChangeRateLimit: number;
  /** VERIFY_RATE_LIMIT: requests a minute per address to forward-auth; 0 = off (the default). */
  verifyRateLimit: number;
  loginMaxFailures: number;
  loginFailureWindowMs: number;
  corsOrigins: string[];
  adminUsername: string | undefined;
  adminPassword: string | undefined;
  /** Express 'trust proxy': false, a hop count, or addresses/CIDRs/keywords of trusted proxies. */
  trustProxy: false | number | string[];
  /** Longest time a client may take to send a request's headers / whole request. */
  requestTimeoutMs: number;
  /** The HTTP server under Nest: Express (default) or Fastify (the fast mode). */
  httpAdapter: HttpAdapterName;
  logLevel: LogLevel;
  logFile: string | undefined;
  /** LOG_FORMAT: json, pretty, or auto (pretty on a terminal outside production; see logging.config.ts). */
  logFormat: LogFormat;
}

export const HTTP_ADAPTERS = ['express', 'fastify'] as const;
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export class EnvironmentValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvironmentValidationError';
  }
}

type RawEnvironment = Record<string, string | undefined>;

export const MIN_SECRET_LENGTH = 32;
/** A grace longer than this would let a stolen, already rotated refresh token be replayed for minutes. */
export const MAX_REFRESH_REUSE_GRACE_MS = 60_000;
/** A 32-character string with fewer distinct characters than this is a placeholder, not a key. */
const MIN_SECRET_DISTINCT_CHARACTERS = 10;

class EnvironmentReader {
  readonly problems: string[] = [];

  constructor(private readonly raw: RawEnvironment) {}

  /** Undefined for unset and for empty strings: `FOO=` in a .env file means "not set". */
  optional(name: string): string | undefined {
    const value = this.raw[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  /** Passwords are taken as given: surrounding spaces are part of them. */
  verbatim(name: string): string | undefined {
    const value = this.raw[name];
    return value === undefined || value === '' ? undefined : value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.optional(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
    return fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.optional(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${value}")`);
      return fallback;
    }
    return parsed;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.optional(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes'].includes(value)) return true;
    if (['false', '0', 'no'].includes(value)) return false;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return fallback;
  }

  /** An `ms`-style duration ("15m", "7d", "10s"); a bare number is milliseconds. */
  duration(name: string, fallback: string, options: { allowZero: boolean }): number {
    const text = this.optional(name) ?? fallback;
    const parsed = /^\d+$/.test(text) ? Number(text) : ms(text as StringValue);
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0 || (parsed === 0 && !options.allowZero)) {
      this.problems.push(
        `${name} must be a ${options.allowZero ? 'non-negative' : 'positive'} duration such as "15m", "7d" or "10s" (got "${text}")`,
      );
      return ms(fallback as StringValue);
    }
    return parsed;
  }

  url(name: string, protocols: string[]): string | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const protocol = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
    if (!protocol || !protocols.includes(protocol)) {
      this.problems.push(`${name} must be a ${protocols.map((p) => `${p}://`).join(' or ')} URL`);
      return undefined;
    }
    return value;
  }

  origins(name: string): string[] {
    const value = this.optional(name);
    if (value === undefined) return [];
    const origins: string[] = [];
    for (const entry of value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      try {
        const url = new URL(entry);
        if (entry === '*' || url.origin === 'null') throw new Error('not an origin');
        origins.push(url.origin);
      } catch {
        this.problems.push(`${name} must list origins such as https://app.example.com (got "${entry}")`);
      }
    }
    return origins;
  }

  trustProxy(name: string): false | number | string[] {
    const { trustProxy, problem } = parseTrustProxy(name, this.optional(name));
    if (problem) this.problems.push(problem);
    return trustProxy;
  }

  redisTopology(): RedisTopology | undefined {
    const { topology, problems } = parseRedisTopology({
      url: this.url('REDIS_URL', ['redis', 'rediss']),
      clusterNodes: this.optional('REDIS_CLUSTER_NODES'),
      sentinels: this.optional('REDIS_SENTINELS'),
      sentinelName: this.optional('REDIS_SENTINEL_NAME'),
      username: this.optional('REDIS_USERNAME'),
      password: this.verbatim('REDIS_PASSWORD'),
      sentinelPassword: this.verbatim('REDIS_SENTINEL_PASSWORD'),
    });
    this.problems.push(...problems);
    return topology;
  }

  accessTokenSigning(production: boolean): AccessTokenSigning {
    const { signing, problems } = parseAccessTokenSigning({
      algorithm: this.optional('ACCESS_TOKEN_ALGORITHM'),
      privateKey: this.optional('ACCESS_TOKEN_PRIVATE_KEY'),
      previousKeys: this.optional('ACCESS_TOKEN_PREVIOUS_KEYS'),
      issuer: this.optional('ACCESS_TOKEN_ISSUER'),
      production,
    });
    this.problems.push(...problems);
    return signing;
  }

  secret(name: string): string | undefined {
    const value = this.raw[name];
    if (value === undefined || value === '') return undefined;
    if (value.length < MIN_SECRET_LENGTH) {
      this.problems.push(`${name} must be at least ${MIN_SECRET_LENGTH} characters long`);
    } else if (new Set(value).size < MIN_SECRET_DISTINCT_CHARACTERS) {
      this.problems.push(`${name} is too weak: use a random value (e.g. openssl rand -base64 48)`);
    }
    return value;
  }
}

let generatedSecrets: { access: string; refresh: string } | undefined;

/** Development secrets live as long as the process: every app instance in it shares them. */
function developmentSecrets(): { access: string; refresh: string } {
  if (!generatedSecrets) {
    generatedSecrets = {
      access: randomBytes(48).toString('base64url'),
      refresh: randomBytes(48).toString('base64url'),
    };
    new Logger('Config').warn(
      'ACCESS_TOKEN_SECRET/REFRESH_TOKEN_SECRET are not set: using random secrets for this process only ' +
        '(tokens die with it). Set both in production.',
    );
  }
  return generatedSecrets;
}

/** Where tools built from source on first use (the embedded FerretDB, the tests' Caddy) are kept. */
export function toolCacheDirFor(xdgCacheHome: string | undefined): string {
  return resolve(xdgCacheHome ?? join(homedir(), '.cache'), 'secure-logout-jwt');
}

export function parseEnvironment(raw: RawEnvironment): Environment {
  const env = new EnvironmentReader(raw);
  const nodeEnv = env.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const production = nodeEnv === 'production';

  const mongodbUri = env.url('MONGODB_URI', ['mongodb', 'mongodb+srv']);
  if (production && !mongodbUri && env.optional('MONGODB_URI') === undefined) {
    env.problems.push('MONGODB_URI is required when NODE_ENV=production (the embedded database is for development)');
  }

  let accessTokenSecret = env.secret('ACCESS_TOKEN_SECRET');
  let refreshTokenSecret = env.secret('REFRESH_TOKEN_SECRET');
  let secretsGenerated = false;
  if (production) {
    if (accessTokenSecret === undefined) env.problems.push('ACCESS_TOKEN_SECRET is required when NODE_ENV=production');
    if (refreshTokenSecret === undefined)
      env.problems.push('REFRESH_TOKEN_SECRET is required when NODE_ENV=production');
  } else if (accessTokenSecret === undefined || refreshTokenSecret === undefined) {
    if (accessTokenSecret !== undefined || refreshTokenSecret !== undefined) {
      env.problems.push(
        'ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must be set together (or both left unset in development)',
      );
    }
    const generated = developmentSecrets();
    accessTokenSecret ??= generated.access;
    refreshTokenSecret ??= generated.refresh;
    secretsGenerated = true;
  }
  if (accessTokenSecret !== undefined && accessTokenSecret === refreshTokenSecret) {
    env.problems.push('REFRESH_TOKEN_SECRET must differ from ACCESS_TOKEN_SECRET');
  }

  const adminUsername = env.optional('ADMIN_USERNAME');
  const adminPassword = env.verbatim('ADMIN_PASSWORD');

  const cwd = process.cwd();
  const environment: Environment = {
    nodeEnv,
    port: env.integer('PORT', 3000, 0, 65535),
    host: env.optional('HOST') ?? (production ? '0.0.0.0' : '127.0.0.1'),
    mongodbUri,
    mongodbDbName: env.optional('MONGODB_DB_NAME'),
    embeddedDbDir: resolve(cwd, env.optional('EMBEDDED_DB_DIR') ?? join('.data', 'ferretdb')),
    toolCacheDir: toolCacheDirFor(env.optional('XDG_CACHE_HOME')),
    redis: env.redisTopology(),
    accessTokenSecret: accessTokenSecret ?? '',
    refreshTokenSecret: refreshTokenSecret ?? '',
    secretsGenerated,
    accessTokenSigning: env.accessTokenSigning(production),
    revocationFeedToken: env.secret('REVOCATION_FEED_TOKEN'),
    accessTokenTtlMs: env.duration('ACCESS_TOKEN_EXPIRY', '15m', { allowZero: false }),
    refreshTokenTtlMs: env.duration('REFRESH_TOKEN_EXPIRY', '7d', { allowZero: false }),
    sessionMaxLifetimeMs: env.duration('SESSION_MAX_LIFETIME', '30d', { allowZero: false }),
    refreshReuseGraceMs: env.duration('REFRESH_REUSE_GRACE', '10s', { allowZero: true }),
    passwordHashQueueLimit: env.integer('PASSWORD_HASH_QUEUE_LIMIT', 64, 0, 100_000),
    cookieSecure: env.boolean('COOKIE_SECURE', true),
    cookieSameSite: env.oneOf('COOKIE_SAMESITE', ['strict', 'lax'] as const, 'strict'),
    authRateLimit: env.integer('AUTH_RATE_LIMIT', 100, 0, 1_000_000),
    passwordChangeRateLimit: env.integer('PASSWORD_CHANGE_RATE_LIMIT', 10, 0, 1_000_000),
    verifyRateLimit: env.integer('VERIFY_RATE_LIMIT', 0, 0, 1_000_000),
    loginMaxFailures: env.integer('LOGIN_MAX_FAILURES', 5, 1, 1_000_000),
    loginFailureWindowMs: env.duration('LOGIN_FAILURE_WINDOW', '15m', { allowZero: false }),
    corsOrigins: env.origins('CORS_ORIGINS'),
    adminUsername,
    adminPassword,
    trustProxy: env.trustProxy('TRUST_PROXY'),
    requestTimeoutMs: env.duration('REQUEST_TIMEOUT', '10s', { allowZero: false }),
    httpAdapter: env.oneOf('HTTP_ADAPTER', HTTP_ADAPTERS, 'express'),
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFile: env.optional('LOG_FILE'),
    logFormat: env.oneOf('LOG_FORMAT', LOG_FORMATS, 'auto'),
  };

  if (environment.refreshReuseGraceMs > MAX_REFRESH_REUSE_GRACE_MS) {
    env.problems.push(
      `REFRESH_REUSE_GRACE must be at most ${MAX_REFRESH_REUSE_GRACE_MS / 1000}s (got "${env.optional('REFRESH_REUSE_GRACE')}"): longer lets a stolen refresh token be replayed unnoticed`,
    );
  }
  if ((adminUsername === undefined) !== (adminPassword === undefined)) {
    env.problems.push('ADMIN_USERNAME and ADMIN_PASSWORD must be set together');
  }
  if (adminUsername !== undefined && !/^[A-Za-z0-9_.-]{3,32}$/.test(adminUsername)) {
    env.problems.push('ADMIN_USERNAME must be 3-32 characters of A-Z a-z 0-9 _ . -');
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 128)) {
    env.problems.push('ADMIN_PASSWORD must be 8-128 characters');
  }

  if (env.problems.length > 0) throw new EnvironmentValidationError(env.problems);
  return environment;
}
