import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import { AUTH_GUARD_OPTIONS, type ResolvedAuthGuardOptions } from './auth-guard.options';

/** What the host service's health check may read. */
export interface RevocationFeedStatus {
  /** Whether protected requests are currently served (false: they answer 503). */
  readonly inSync: boolean;
  /** When the last event or heartbeat arrived, null before the first. */
  readonly lastEventAt: Date | null;
  /** Revoked sessions currently remembered. */
  readonly revokedCount: number;
  /** Consecutive failed or stalled connections since the feed was last in sync. */
  readonly failures: number;
}

/** Beyond until + clock tolerance, this long again before forgetting: the guard's check may run a moment after jose's. */
const PRUNE_MARGIN_SECONDS = 1;
/** Longest delay between two attempts to reopen the feed: every protected request fails meanwhile. */
const MAX_RECONNECT_DELAY_MS = 5000;
const SESSION_ID = /^[0-9a-f]{24}$/i;

interface Revocation {
  sid: string;
  until: number;
}

/**
 * Client of the auth service's revocation feed: keeps the set of revoked sessions whose tokens may still
 * be alive, and knows whether that set can be trusted right now.
 *
 * It is in sync once the latest connection has delivered a snapshot, or, when it resumed with
 * Last-Event-ID and the server sent no snapshot, its first heartbeat (the protocol has the missed events
 * come before the heartbeats); and for as long as events or heartbeats keep arriving within
 * maxFeedSilenceMs. A revocation is final, so entries are only ever added (and forgotten once expired).
 *
 * Reconnection is its own rather than EventSource's: EventSource gives up for good on a non-200 answer
 * (a restarting auth service behind a proxy answers 502), and a silent half-open connection is never
 * noticed by it. Each attempt is a new EventSource whose request carries the last cursor received.
 */
@Injectable()
export class RevocationFeedClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RevocationFeedClient.name);
  /** Session id (lowercase) → unix seconds after which no access token of the session is valid. */
  private readonly revoked = new Map<string, number>();
  private source: EventSource | undefined;
  /** Id of the last event applied: the Last-Event-ID of the next connection. */
  private cursor: string | undefined;
  /** The cursor the current connection was opened with (undefined: it must start with a snapshot). */
  private connectionCursor: string | undefined;
  private synced = false;
  private lastEventAt: number | undefined;
  private lastEventWallClock: number | undefined;
  private connectingSince = 0;
  private failures = 0;
  private running = false;
  private reportedInSync = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly syncWaiters = new Set<() => void>();

  constructor(@Inject(AUTH_GUARD_OPTIONS) private readonly options: ResolvedAuthGuardOptions) {}

  /** Connects, and gives the feed up to maxFeedSilenceMs to sync, so that a fresh instance starts serving. */
  async onModuleInit(): Promise<void> {
    this.start();
    if (!(await this.waitForSync(this.options.maxFeedSilenceMs))) {
      this.logger.warn('Revocation feed not in sync yet: protected routes answer 503 until it is');
    }
  }

  onModuleDestroy(): void {
    this.stop();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const period = Math.min(1000, Math.max(25, Math.floor(this.options.maxFeedSilenceMs / 4)));
    this.watchdog = setInterval(() => this.tick(), period);
    // The application's server keeps the process alive, never this timer.
    this.watchdog.unref();
    this.open();
  }

  /** Closes the connection and clears every timer: nothing of the client outlives the application. */
  stop(): void {
    this.running = false;
    this.synced = false;
    clearInterval(this.watchdog);
    clearTimeout(this.reconnectTimer);
    this.watchdog = this.reconnectTimer = undefined;
    this.closeSource();
    for (const wake of this.syncWaiters) wake();
  }

  /** Whether protected requests may be served: synced since the last connection, and not silent for too long. */
  isInSync(now: number = performance.now()): boolean {
    return this.synced && this.lastEventAt !== undefined && now - this.lastEventAt <= this.options.maxFeedSilenceMs;
  }

  /** Whether the session was revoked. Revocation is final, so a true answer holds even out of sync. */
  isRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId.toLowerCase());
  }

  get status(): RevocationFeedStatus {
    return {
      inSync: this.isInSync(),
      lastEventAt: this.lastEventWallClock === undefined ? null : new Date(this.lastEventWallClock),
      revokedCount: this.revoked.size,
      failures: this.failures,
    };
  }

  /** Resolves true as soon as the feed is in sync, false after timeoutMs or when the client stops. */
  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.isInSync()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.syncWaiters.delete(wake);
        resolve(this.isInSync());
      };
      const timer = setTimeout(wake, timeoutMs);
      this.syncWaiters.add(wake);
    });
  }

  /** Forgets the revocations that no longer matter: past until, plus the tolerance the verifier grants on exp. */
  prune(nowMs: number = Date.now()): void {
    const horizon = nowMs / 1000 - this.options.clockToleranceSeconds - PRUNE_MARGIN_SECONDS;
    for (const [sid, until] of this.revoked) if (until < horizon) this.revoked.delete(sid);
  }

  private open(): void {
    if (!this.running) return;
    this.synced = false;
    this.connectingSince = performance.now();
    const source = new EventSource(this.options.feedUrl, { fetch: (url, init) => this.fetchFeed(url, init) });
    this.source = source;
    const on = (type: string, handle: (event: MessageEvent) => void) =>
      source.addEventListener(type, (event: MessageEvent) => {
        // A listener that throws would surface as an uncaught exception: nothing may escape.
        try {
          if (source === this.source) handle(event);
        } catch (error) {
          this.protocolError(`${type} event could not be handled: ${String(error)}`);
        }
      });
    on('snapshot', (event) => this.onSnapshot(event));
    on('revoked', (event) => this.onRevoked(event));
    on('heartbeat', () => this.onHeartbeat());
    source.addEventListener('error', (event) => {
      if (source !== this.source) return;
      const { code, message } = event as { code?: number; message?: string };
      this.connectionLost(code === undefined ? (message ?? 'connection closed') : describeStatus(code));
    });
  }

  private async fetchFeed(url: string | URL, init: EventSourceFetchInit) {
    this.connectionCursor = this.cursor;
    const headers: Record<string, string> = { ...init.headers, Authorization: `Bearer ${this.options.feedToken}` };
    delete headers['Last-Event-ID'];
    if (this.cursor !== undefined) headers['Last-Event-ID'] = this.cursor;
    // The feed URL is configured; a redirect would be a misconfiguration, and would carry the feed token along.
    const response = await this.options.fetch(url, { ...init, headers, redirect: 'error' });
    const isStream = response.status === 200 && response.headers.get('content-type')?.startsWith('text/event-stream');
    // EventSource fails such a connection without reading its body: release it, or its socket stays busy.
    if (!isStream) await response.body?.cancel().catch(() => undefined);
    return response;
  }

  private onSnapshot(event: MessageEvent): void {
    const data = parse(event.data) as { revoked?: unknown } | undefined;
    const entries = Array.isArray(data?.revoked) ? data.revoked.map(toRevocation) : undefined;
    if (!entries || entries.some((entry) => entry === undefined)) return this.protocolError('malformed snapshot');
    // Merged, not replaced: a revocation is final, so an entry the snapshot lacks can only be one already expiring.
    for (const entry of entries as Revocation[]) this.remember(entry);
    this.prune();
    this.cursor = event.lastEventId || undefined;
    this.markAlive();
    this.markSynced();
  }

  private onRevoked(event: MessageEvent): void {
    const entry = toRevocation(parse(event.data));
    if (!entry) return this.protocolError('malformed revoked event');
    this.remember(entry);
    if (event.lastEventId) this.cursor = event.lastEventId;
    this.markAlive();
  }

  private onHeartbeat(): void {
    this.markAlive();
    // A resumed stream sends the events missed first, heartbeats after: the first heartbeat completes it.
    if (!this.synced && this.connectionCursor !== undefined) this.markSynced();
  }

  private remember({ sid, until }: Revocation): void {
    const known = this.revoked.get(sid);
    this.revoked.set(sid, known === undefined ? until : Math.max(known, until));
  }

  private markAlive(): void {
    this.lastEventAt = performance.now();
    this.lastEventWallClock = Date.now();
  }

  private markSynced(): void {
    this.synced = true;
    if (this.failures > 0) this.logger.log('Revocation feed back in sync');
    this.failures = 0;
    this.reportedInSync = true;
    for (const wake of this.syncWaiters) wake();
  }

  /** Data the client cannot apply: start over with a fresh snapshot rather than guess. */
  private protocolError(reason: string): void {
    this.logger.error(`Revocation feed: ${reason}; reconnecting for a new snapshot`);
    this.cursor = undefined;
    this.synced = false;
    this.connectionLost(reason);
  }

  /**
   * Until the next connection opens, the set is as good as the silence bound says (events missed
   * meanwhile come with the resume); from then on, until its snapshot or resume completes, it is not.
   */
  private connectionLost(reason: string): void {
    this.closeSource();
    this.failures++;
    if (this.failures === 1) this.logger.warn(`Revocation feed connection failed (${reason}); retrying`);
    else this.logger.debug(`Revocation feed attempt ${this.failures} failed (${reason})`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    clearTimeout(this.reconnectTimer);
    const delay = Math.min(MAX_RECONNECT_DELAY_MS, this.options.feedReconnectDelayMs * 2 ** (this.failures - 1));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
    this.reconnectTimer.unref();
  }

  private closeSource(): void {
    const source = this.source;
    this.source = undefined;
    if (!source) return;
    source.close();
    // Again once EventSource's own error handling has returned: it arms its retry timer after dispatching
    // the error event, and close() is what clears it.
    queueMicrotask(() => source.close());
  }

  private tick(): void {
    this.prune();
    const now = performance.now();
    const silentSince = Math.max(this.lastEventAt ?? 0, this.connectingSince);
    if (this.source && now - silentSince > this.options.maxFeedSilenceMs) {
      this.connectionLost(`silent for more than ${this.options.maxFeedSilenceMs} ms`);
    }
    const inSync = this.isInSync(now);
    if (this.reportedInSync && !inSync) this.logger.warn('Revocation feed out of sync: protected routes answer 503');
    this.reportedInSync = inSync;
  }
}

function describeStatus(code: number): string {
  const hints: Record<number, string> = {
    401: ' (is feedToken right?)',
    404: ' (is the feed enabled on the auth service?)',
  };
  return `HTTP ${code}${hints[code] ?? ''}`;
}

function parse(data: unknown): unknown {
  try {
    return typeof data === 'string' ? JSON.parse(data) : undefined;
  } catch {
    return undefined;
  }
}

function toRevocation(value: unknown): Revocation | undefined {
  const { sid, until } = (value ?? {}) as { sid?: unknown; until?: unknown };
  if (typeof sid !== 'string' || !SESSION_ID.test(sid)) return undefined;
  if (typeof until !== 'number' || !Number.isFinite(until)) return undefined;
  return { sid: sid.toLowerCase(), until };
}
