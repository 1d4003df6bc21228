import { randomBytes } from 'node:crypto';
import type { TestApp } from './test-app';

export interface LoggedIn {
  username: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  /** `name=value` pairs from the login response's Set-Cookie headers, ready for a Cookie header. */
  cookies: Record<string, string>;
  setCookie: string[];
}

export function uniqueUsername(prefix = 'user'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`.slice(0, 32);
}

export const PASSWORD = 'correct horse battery staple';

export function setCookieHeaders(res: { headers: Record<string, unknown> }): string[] {
  const header = res.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? (header as string[]) : [String(header)];
}

export function cookiesOf(setCookie: string[]): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const line of setCookie) {
    const [pair] = line.split(';');
    const index = pair.indexOf('=');
    cookies[pair.slice(0, index).trim()] = pair.slice(index + 1);
  }
  return cookies;
}

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
}

export async function register(t: TestApp, username = uniqueUsername(), password = PASSWORD) {
  const res = await t.http().post('/api/auth/register').send({ username, password });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { username, password, id: res.body.id as string };
}

export async function registerAndLogin(
  t: TestApp,
  username = uniqueUsername(),
  password = PASSWORD,
): Promise<LoggedIn> {
  const { id } = await register(t, username, password);
  return login(t, username, password, id);
}

export async function login(t: TestApp, username: string, password = PASSWORD, userId = ''): Promise<LoggedIn> {
  const res = await t.http().post('/api/auth/login').send({ username, password });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  const setCookie = setCookieHeaders(res);
  return {
    username,
    password,
    userId,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
    cookies: cookiesOf(setCookie),
    setCookie,
  };
}

/** The decoded (unverified) payload of a JWT. */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}
