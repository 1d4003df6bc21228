import { randomBytes } from 'node:crypto';
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestApp } from './test-app';

/**
 * The e2e suites' HTTP helpers, in one place: requests over a real socket (send, InstanceClient), the
 * account helpers over supertest (register, login), and reading and writing cookies and tokens.
 */

/** A response in the one shape both fetch and supertest answers are read in. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export function headersOf(headers: Headers): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  headers.forEach((value, name) => (record[name] = value));
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) record['set-cookie'] = cookies;
  return record;
}

/** The body as JSON when it is JSON ({} when empty), else the text itself. */
function bodyOf(text: string): unknown {
  try {
    return text === '' ? {} : JSON.parse(text);
  } catch {
    return text;
  }
}

export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  return { status: res.status, headers: headersOf(res.headers), text, body: bodyOf(text) };
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** A value is sent as JSON; a string is sent verbatim (set the content-type yourself). */
  json?: unknown;
  raw?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as the Cookie header. */
  cookie?: string;
  timeoutMs?: number;
  /** 'manual' by default: a redirect is an answer to look at. */
  redirect?: 'manual' | 'follow';
}

/** The headers and body that `options` describe. */
function outgoing(options: SendOptions): { headers: Record<string, string>; body: string | undefined } {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = bearer(options.token);
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  let body: string | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, options.headers);
  return { headers, body };
}

/** How a client sends one request: `send` (fetch) or `overSocket` (node:http, connections of its own). */
export type Transport = (base: string, method: string, path: string, options?: SendOptions) => Promise<Reply>;

/** One request over a real socket, with a bounded wait. */
export async function send(base: string, method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const { headers, body } = outgoing(options);
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    redirect: options.redirect ?? 'manual',
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  return replyOf(res);
}

export interface SocketOptions {
  /**
   * The connection to use: a keep-alive Agent (maxSockets 1: one socket, reused), or false (the
   * default) for a connection of the request's own, never one left open by an earlier request.
   */
  agent?: Agent | false;
  /** Called once the whole request has been handed to the socket. */
  onSent?: () => void;
}

/** A copy as a plain record, read like fetch's headers (lower-case names, Set-Cookie a list). */
function recordOf(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) record[name] = value;
  return record;
}

/**
 * One request with node:http rather than fetch, for what fetch hides: which connection carries it
 * (see SocketOptions) and why no answer came. Resolves only with a complete response (the whole
 * body as announced); rejects with the socket error's code as message (ECONNREFUSED, ECONNRESET...),
 * ABORTED for a response cut short, or TIMEOUT. Redirects are answers (`redirect` is not read).
 */
export function sendOverSocket(
  base: string,
  method: string,
  path: string,
  options: SendOptions & SocketOptions = {},
): Promise<Reply> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const { headers, body } = outgoing(options);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolveReply, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const req = httpRequest(`${base}${path}`, { method, headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => fail(new Error('ABORTED: response cut short')));
      res.on('error', (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)));
      res.on('end', () => {
        if (!res.complete) return fail(new Error('ABORTED: response cut short'));
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolveReply({ status: res.statusCode ?? 0, headers: recordOf(res.headers), text, body: bodyOf(text) });
      });
    });
    const timer = setTimeout(() => fail(new Error(`TIMEOUT: no complete response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail(new Error(error.code ?? error.message)));
    req.on('finish', () => options.onSent?.());
    req.end(body);
  });
}

/** sendOverSocket as a Transport, every request on `socket`'s connection(s). */
export function overSocket(socket: SocketOptions = {}): Transport {
  return (base, method, path, options = {}) => sendOverSocket(base, method, path, { ...options, ...socket });
}

/** Listens on an ephemeral port on 127.0.0.1 and returns its base URL. */
export async function listenOnV4(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Listens on "::" so that one test can call the app from two client addresses: 127.0.0.1 (seen as
 * ::ffff:127.0.0.1) and ::1.
 */
export async function listenOnBothLoopbacks(t: TestApp): Promise<{ v4: string; v6: string; port: number }> {
  await t.app.listen(0, '::');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return { v4: `http://127.0.0.1:${port}`, v6: `http://[::1]:${port}`, port };
}

/**
 * A client for an app that listens on a real port: for suites that talk to several instances (each
 * on its own port) the way separate processes behind a load balancer would be talked to.
 */
export class InstanceClient {
  constructor(
    readonly baseUrl: string,
    readonly name = baseUrl,
    /** fetch by default (redirects followed); overSocket(...) to choose the connections. */
    private readonly transport: Transport = send,
  ) {}

  request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const { body, ...rest } = options;
    return this.transport(this.baseUrl, method, path, { ...rest, json: body, redirect: 'follow' });
  }

  me(token: string) {
    return this.request('GET', '/api/users/me', { token });
  }

  verify(token: string) {
    return this.request('GET', '/api/auth/verify', { token });
  }

  refresh(refreshToken: string) {
    return this.request('POST', '/api/auth/refresh', { body: { refreshToken } });
  }

  login(username: string, password: string) {
    return this.request('POST', '/api/auth/login', { body: { username, password } });
  }

  register(username: string, password: string) {
    return this.request('POST', '/api/auth/register', { body: { username, password } });
  }
}

/** Listens on an ephemeral loopback port and returns a client for it. */
export async function listenOnLoopback(t: TestApp, name?: string): Promise<InstanceClient> {
  return new InstanceClient(await listenOnV4(t), name);
}

/** Polls until `probe` resolves without throwing, or rethrows its last failure at the deadline. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() + intervalMs > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

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
