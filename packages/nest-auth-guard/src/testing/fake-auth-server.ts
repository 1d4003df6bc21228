import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { AuthGuardOptions } from '../auth-guard.options';

/**
 * A stand-in for the auth service in this package's tests: its JWKS and its revocation feed, on
 * 127.0.0.1, with knobs to make them fail. Keys are real; tokens are signed with jose.
 */

export interface SigningKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(alg: SigningKey['alg'], kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export const newSessionId = () => randomBytes(12).toString('hex');
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** What one request to the feed carried, and how the server opened the stream. */
export interface FeedRequest {
  authorization: string | undefined;
  lastEventId: string | undefined;
  opening: 'refused' | 'pending' | 'snapshot' | 'resume';
}

interface Stream {
  response: ServerResponse;
  request: FeedRequest;
  /** Id of the last revocation written to this stream; undefined until the stream is opened. */
  position: number | undefined;
}

type Revocation = { id: number; sid: string; until: number };

export class FakeAuthServer {
  readonly issuer = 'https://auth.example.test';
  readonly feedToken = 'feed-token-for-tests';
  /** 'error': the JWKS answers 503; 'reset': its connection is dropped without an answer. */
  jwksMode: 'up' | 'error' | 'reset' = 'up';
  jwksFetches = 0;
  attackerJwksFetches = 0;
  /** Status of the feed's answers when not 200 (e.g. 404 while "disabled", 502 behind a proxy). */
  feedStatus = 200;
  /** Whether a Last-Event-ID within the log is honoured (false: always a snapshot). */
  resumable = true;
  readonly feedRequests: FeedRequest[] = [];
  attackerKeys: JWK[] = [];

  private readonly streams = new Set<Stream>();
  private readonly log: Revocation[] = [];
  private keys: SigningKey[] = [];
  private muted = false;
  private port = 0;
  private readonly server: Server;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(heartbeatMs: number) {
    this.server = createServer((request, response) => this.route(request, response));
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
  }

  static async start(keys: SigningKey[], heartbeatMs = 50): Promise<FakeAuthServer> {
    const fake = new FakeAuthServer(heartbeatMs);
    fake.publish(keys);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get jwksUrl(): string {
    return `${this.baseUrl}/.well-known/jwks.json`;
  }
  get feedUrl(): string {
    return `${this.baseUrl}/auth/revocations`;
  }
  get attackerJwksUrl(): string {
    return `${this.baseUrl}/attacker/jwks.json`;
  }
  get openStreams(): number {
    return this.streams.size;
  }
  /** Id of the last revocation published. */
  get cursor(): number {
    return this.log.at(-1)?.id ?? 0;
  }

  /** Replaces the keys the JWKS lists. */
  publish(keys: SigningKey[]): void {
    this.keys = [...keys];
  }

  /** Records a revocation and sends it to every open stream (unless muted: they get it on unmute). */
  revoke(sid: string, until: number = nowSeconds() + 900): number {
    const id = this.cursor + 1;
    this.log.push({ id, sid, until });
    for (const stream of this.streams) this.pump(stream);
    return id;
  }

  /** Writes raw Server-Sent Events text to every open stream, as a faulty server might. */
  sendRaw(text: string): void {
    for (const stream of this.streams) if (stream.position !== undefined) stream.response.write(text);
  }

  /** Stops writing anything (heartbeats, events, openings of new streams) until unmute(). */
  mute(): void {
    this.muted = true;
  }
  unmute(): void {
    this.muted = false;
    for (const stream of this.streams) this.pump(stream);
  }

  /** Cuts every feed connection, as a restart or a network failure would. */
  dropFeedConnections(): void {
    for (const stream of this.streams) stream.response.destroy();
    this.streams.clear();
  }

  /** The guard's options pointing at this server, with `overrides`. */
  guardOptions(overrides: Partial<AuthGuardOptions> = {}): AuthGuardOptions {
    return {
      issuer: this.issuer,
      jwksUrl: this.jwksUrl,
      feedUrl: this.feedUrl,
      feedToken: this.feedToken,
      ...overrides,
    };
  }

  async sign(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
    const iat = nowSeconds();
    const payload: Record<string, unknown> = {
      sub: randomBytes(12).toString('hex'),
      sid: newSessionId(),
      jti: randomUUID(),
      iat,
      exp: iat + 900,
      roles: ['user'],
      iss: this.issuer,
      ...claims,
    };
    for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header })
      .sign(key.privateKey);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const stream of this.streams) stream.response.destroy();
    this.streams.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', this.baseUrl).pathname;
    if (path === new URL(this.jwksUrl).pathname) return this.serveJwks(response);
    if (path === new URL(this.attackerJwksUrl).pathname) {
      this.attackerJwksFetches++;
      return this.json(response, 200, { keys: this.attackerKeys });
    }
    if (path === new URL(this.feedUrl).pathname) return this.openFeed(request, response);
    this.json(response, 404, { statusCode: 404, message: 'Not Found' });
  }

  private serveJwks(response: ServerResponse): void {
    this.jwksFetches++;
    if (this.jwksMode === 'reset') return void response.socket?.destroy();
    if (this.jwksMode === 'error') return this.json(response, 503, { statusCode: 503 });
    response.setHeader('Cache-Control', 'public, max-age=300');
    this.json(response, 200, { keys: this.keys.map((key) => key.publicJwk) });
  }

  private openFeed(request: IncomingMessage, response: ServerResponse): void {
    const header = request.headers['last-event-id'];
    const record: FeedRequest = {
      authorization: request.headers.authorization,
      lastEventId: typeof header === 'string' ? header : undefined,
      opening: 'refused',
    };
    this.feedRequests.push(record);
    if (request.headers.authorization !== `Bearer ${this.feedToken}`) return this.json(response, 401, {});
    if (this.feedStatus !== 200) return this.json(response, this.feedStatus, {});

    record.opening = 'pending';
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    const stream: Stream = { response, request: record, position: undefined };
    this.streams.add(stream);
    response.on('close', () => this.streams.delete(stream));
    this.pump(stream);
  }

  /** Opens the stream (snapshot, or the missed events on a resume), then writes what it has not had yet. */
  private pump(stream: Stream): void {
    if (this.muted || stream.response.destroyed) return;
    if (stream.position === undefined) {
      const resumeFrom = Number(stream.request.lastEventId);
      if (this.resumable && Number.isInteger(resumeFrom) && resumeFrom >= 0 && resumeFrom <= this.cursor) {
        stream.request.opening = 'resume';
        stream.position = resumeFrom;
      } else {
        stream.request.opening = 'snapshot';
        stream.position = this.cursor;
        const revoked = this.log.map(({ sid, until }) => ({ sid, until }));
        stream.response.write(`event: snapshot\nid: ${this.cursor}\ndata: ${JSON.stringify({ revoked })}\n\n`);
      }
    }
    for (const { id, sid, until } of this.log.filter(({ id }) => id > (stream.position as number))) {
      stream.response.write(`event: revoked\nid: ${id}\ndata: ${JSON.stringify({ sid, until })}\n\n`);
      stream.position = id;
    }
  }

  private beat(): void {
    for (const stream of this.streams) {
      if (this.muted) return;
      this.pump(stream);
      stream.response.write(`event: heartbeat\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
    }
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** Polls until the condition holds; rejects with the description after timeoutMs. */
export async function waitFor(condition: () => boolean, description: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
