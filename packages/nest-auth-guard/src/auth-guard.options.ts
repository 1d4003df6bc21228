/** Injection token of the resolved options (defaults applied, validated). */
export const AUTH_GUARD_OPTIONS = Symbol('AUTH_GUARD_OPTIONS');

/**
 * The algorithms the auth service signs with, the only ones the guard can be told to accept. Never an
 * HMAC one: a public key from the JWKS could then serve as the secret (algorithm confusion); never `none`.
 */
export const SUPPORTED_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type AuthGuardAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** The fetch the package uses for the JWKS and the feed; the global one unless overridden. */
export type FetchFunction = typeof fetch;

export interface AuthGuardOptions {
  /** Expected `iss` of the access tokens; tokens of any other issuer are refused. */
  issuer: string;
  /** The auth service's JSON Web Key Set (`/.well-known/jwks.json`). */
  jwksUrl: string;
  /** The auth service's revocation feed (Server-Sent Events). */
  feedUrl: string;
  /** Sent as `Authorization: Bearer <feedToken>` to the feed. */
  feedToken: string;
  /** Accepted signature algorithms, to narrow the default `['EdDSA', 'ES256']` (e.g. to pin EdDSA). */
  algorithms?: AuthGuardAlgorithm[];
  /** Longest silence of the feed (no event, no heartbeat) before protected routes answer 503. Default 2000. */
  maxFeedSilenceMs?: number;
  /** Leeway on `exp` and `iat`, and on forgetting revocations past their `until`. Default 5. */
  clockToleranceSeconds?: number;
  /** Least time between two JWKS fetches caused by unknown `kid`s. Default 30000. */
  jwksCooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again. Default 300000 (the auth service's max-age). */
  jwksCacheMaxAgeMs?: number;
  /** First delay before reopening a failed feed connection; doubles per failure up to 5 s. Default 500. */
  feedReconnectDelayMs?: number;
  /** Replaces the global fetch for the JWKS and the feed (tests, proxies). */
  fetch?: FetchFunction;
}

export type ResolvedAuthGuardOptions = Readonly<Required<AuthGuardOptions>>;

export const DEFAULT_ALGORITHMS: readonly AuthGuardAlgorithm[] = ['EdDSA', 'ES256'];

/**
 * Applies the defaults and refuses a configuration that cannot work or would be unsafe, at startup
 * rather than on the first request.
 */
export function resolveAuthGuardOptions(options: AuthGuardOptions): ResolvedAuthGuardOptions {
  const problems: string[] = [];
  for (const key of ['issuer', 'feedToken'] as const) {
    if (typeof options?.[key] !== 'string' || options[key].trim() === '') problems.push(`${key} is required`);
  }
  for (const key of ['jwksUrl', 'feedUrl'] as const) {
    if (!isHttpUrl(options?.[key])) problems.push(`${key} must be an http(s) URL`);
  }

  const algorithms = options?.algorithms ?? [...DEFAULT_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0) problems.push('algorithms must not be empty');
  else {
    const refused = algorithms.filter((alg) => !(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg));
    if (refused.length > 0) {
      problems.push(`algorithms ${refused.join(', ')} refused: only ${SUPPORTED_ALGORITHMS.join(', ')} are accepted`);
    }
  }

  const resolved = {
    issuer: options?.issuer,
    jwksUrl: options?.jwksUrl,
    feedUrl: options?.feedUrl,
    feedToken: options?.feedToken,
    algorithms: Array.isArray(algorithms) ? [...algorithms] : [],
    maxFeedSilenceMs: options?.maxFeedSilenceMs ?? 2000,
    clockToleranceSeconds: options?.clockToleranceSeconds ?? 5,
    jwksCooldownMs: options?.jwksCooldownMs ?? 30_000,
    jwksCacheMaxAgeMs: options?.jwksCacheMaxAgeMs ?? 300_000,
    feedReconnectDelayMs: options?.feedReconnectDelayMs ?? 500,
    fetch: options?.fetch ?? ((input, init) => fetch(input, init)),
  };

  for (const key of ['maxFeedSilenceMs', 'jwksCooldownMs', 'jwksCacheMaxAgeMs', 'feedReconnectDelayMs'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) problems.push(`${key} must be a positive integer`);
  }
  const tolerance = resolved.clockToleranceSeconds;
  if (!Number.isInteger(tolerance) || tolerance < 0) problems.push('clockToleranceSeconds must be an integer >= 0');
  if (typeof resolved.fetch !== 'function') problems.push('fetch must be a function');

  if (problems.length > 0) throw new Error(`Invalid AuthGuardModule options: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
