/**
 * Assertions for the shapes that docs/http-api.md fixes, shared by the e2e suites so that every suite
 * checks a user, an error or a cookie the same way.
 */

interface HttpResponse {
  status: number;
  body: unknown;
  headers: Record<string, unknown>;
}

const USER_KEYS = ['createdAt', 'id', 'roles', 'username'];
const ERROR_KEYS = ['error', 'message', 'statusCode'];

/** `{"id", "username", "roles", "createdAt"}` and nothing else: no password, hash or token field. */
export function expectUserShape(
  user: unknown,
  expected: { username?: string; roles?: string[]; id?: string } = {},
): void {
  expect(typeof user).toBe('object');
  const record = user as Record<string, unknown>;
  expect(Object.keys(record).sort()).toEqual(USER_KEYS);
  expect(typeof record.id).toBe('string');
  expect((record.id as string).length).toBeGreaterThan(0);
  expect(typeof record.username).toBe('string');
  expect(Array.isArray(record.roles)).toBe(true);
  expect(typeof record.createdAt).toBe('string');
  // ISO-8601 as Date#toISOString writes it: parsing and printing again gives the same text.
  expect(new Date(record.createdAt as string).toISOString()).toBe(record.createdAt);
  if (expected.username !== undefined) expect(record.username).toBe(expected.username);
  if (expected.roles !== undefined) expect(record.roles).toEqual(expected.roles);
  if (expected.id !== undefined) expect(record.id).toBe(expected.id);
}

/** `{"statusCode": n, "message": string | string[], "error": string}` with n the response's status. */
export function expectErrorBody(res: HttpResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
  expect(body.statusCode).toBe(status);
  expect(typeof body.error).toBe('string');
  const { message } = body;
  const isStringArray = Array.isArray(message) && message.every((part) => typeof part === 'string');
  expect(typeof message === 'string' || isStringArray).toBe(true);
}

/** The message of an error body as one string, whether the app sent a string or a list. */
export function errorMessageText(res: HttpResponse): string {
  const { message } = res.body as { message: string | string[] };
  return Array.isArray(message) ? message.join('\n') : message;
}

export interface ParsedSetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased; flags (HttpOnly, Secure) map to `true`. */
  attributes: Record<string, string | true>;
}

export function parseSetCookie(line: string): ParsedSetCookie {
  const [pair, ...rest] = line.split(';');
  const index = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of rest) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq === -1) attributes[trimmed.toLowerCase()] = true;
    else attributes[trimmed.slice(0, eq).trim().toLowerCase()] = trimmed.slice(eq + 1).trim();
  }
  return { name: pair.slice(0, index).trim(), value: pair.slice(index + 1), attributes };
}

/** The one Set-Cookie line for `name`; fails when there is none or more than one. */
export function findSetCookie(setCookie: string[], name: string): ParsedSetCookie {
  const matching = setCookie.map(parseSetCookie).filter((cookie) => cookie.name === name);
  expect(matching.map((cookie) => cookie.name)).toEqual([name]);
  return matching[0];
}

/** A cookie that the browser deletes: an expiry date in the past, or Max-Age=0. */
export function expectClearedCookie(cookie: ParsedSetCookie): void {
  const { expires, 'max-age': maxAge } = cookie.attributes;
  const expiredByDate = typeof expires === 'string' && new Date(expires).getTime() <= Date.now();
  const expiredByMaxAge = typeof maxAge === 'string' && Number(maxAge) <= 0;
  expect(expiredByDate || expiredByMaxAge).toBe(true);
}
