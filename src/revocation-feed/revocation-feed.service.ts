import { Inject, Injectable, type MessageEvent, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  concat,
  defer,
  exhaustMap,
  finalize,
  ReplaySubject,
  EMPTY,
  filter,
  from,
  interval,
  map,
  merge,
  mergeMap,
  Observable,
  share,
  Subject,
  takeUntil,
  tap,
  timer,
} from 'rxjs';
import { CLOCK_SKEW_SECONDS } from '../auth/access-token.service';
import { Clock } from '../common/clock/clock';
import { authConfig, type AuthConfig } from '../config';
import { SessionsService } from '../sessions/sessions.service';

/** A revoked session, and the moment (Unix seconds) after which none of its access tokens can be valid. */
export interface FeedRevocation {
  sid: string;
  until: number;
}

/** Heartbeats, so that a service can tell a quiet feed from a cut one. */
export const HEARTBEAT_INTERVAL_MS = 500;
/** How often the database is read for other instances' revocations, while anyone listens. */
export const POLL_INTERVAL_MS = 50;
/**
 * Instances write revocations in their own clocks: each read goes back this far, and repeats are dropped.
 * So instances' clocks must agree within it (NTP keeps them within milliseconds).
 */
const READ_OVERLAP_MS = 5_000;
/** No successful read of the database for this long: no more heartbeats. */
const DATABASE_SILENCE_MS = 1_000;
/** An instance ahead by the iat skew AccessTokenService tolerates issues tokens whose exp is that much later. */
const CLOCK_SKEW_MS = CLOCK_SKEW_SECONDS * 1000;

interface Recorded {
  sessionId: string;
  revokedAt: Date;
}

/**
 * The revocation feed: a snapshot of every revocation whose access tokens may still be valid, then
 * each revocation as it happens, whichever instance made it. This instance's own revocations are sent
 * as they are made; the others' are read from the database (the record every instance writes first)
 * every POLL_INTERVAL_MS while at least one service listens. Event ids are `<revokedAt ms>-<sid>`, so
 * a service may resume from any instance with Last-Event-ID.
 */
@Injectable()
export class RevocationFeed implements BeforeApplicationShutdown {
  private readonly ended = new Subject<void>();
  /** Sessions already sent on the live stream, until their `until`: the poll sees them again. */
  private readonly sent = new Map<string, number>();
  private prunedAt = 0;
  private lastReadAt = 0;
  private closed = false;
  private readonly live: Observable<MessageEvent>;

  constructor(
    private readonly sessions: SessionsService,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    private readonly clock: Clock,
  ) {
    this.live = merge(this.localRevocations(), this.polledRevocations()).pipe(
      // Repeats (every read goes back READ_OVERLAP_MS) are dropped before any event is built.
      filter((record) => this.firstTime(record)),
      map((record) => this.revokedEvent(record)),
      share(),
    );
  }

  /** The stream of one service: snapshot (or the events after Last-Event-ID), then live events and heartbeats. */
  stream(lastEventId: string | undefined): Observable<MessageEvent> {
    return defer(() => {
      // The live events are listened to before the snapshot is read, so that none falls between the two,
      // and held until it is sent: a service sees the snapshot (or the resumed events) first, so no live
      // event's id can become its Last-Event-ID before it has them. One may come twice, which a set of
      // revoked sessions absorbs.
      const held = new ReplaySubject<MessageEvent>();
      const listening = this.live.subscribe(held);
      // Heartbeats repeat the id of the last event sent, so that a service's Last-Event-ID stays a cursor
      // this feed can resume from (an event without an id would be numbered 1, 2, 3... by Nest).
      let cursor = lastEventId ?? '';
      const track = tap((event: MessageEvent) => {
        if (event.id !== undefined) cursor = String(event.id);
      });
      return concat(
        this.opening(lastEventId).pipe(track),
        merge(
          held.pipe(track),
          this.heartbeats(() => cursor),
        ),
      ).pipe(
        takeUntil(this.ended),
        finalize(() => listening.unsubscribe()),
      );
    });
  }

  /** True once the instance is shutting down: the controller refuses new streams (503). */
  get closing(): boolean {
    return this.closed;
  }

  /** Ends every stream (services reconnect elsewhere): on shutdown, before in-flight requests are awaited. */
  endStreams(): void {
    this.closed = true;
    this.ended.next();
  }

  /** Before Nest closes the HTTP server, which would otherwise wait for the open streams. */
  beforeApplicationShutdown(): void {
    this.endStreams();
  }

  /**
   * Every HEARTBEAT_INTERVAL_MS while the database answers: a service takes heartbeats as "nothing
   * missed", which is only true while other instances' revocations are being read.
   */
  private heartbeats(cursor: () => string): Observable<MessageEvent> {
    return interval(HEARTBEAT_INTERVAL_MS).pipe(
      filter(() => this.clock.now() - this.lastReadAt < DATABASE_SILENCE_MS),
      map((): MessageEvent => ({ type: 'heartbeat', id: cursor(), data: { at: this.clock.now() } })),
    );
  }

  private opening(lastEventId: string | undefined): Observable<MessageEvent> {
    return defer(async () => {
      const now = this.clock.now();
      const windowStart = now - this.config.accessTokenTtlMs - CLOCK_SKEW_MS;
      const resumeAt = resumePoint(lastEventId);
      if (resumeAt !== undefined && resumeAt >= windowStart) {
        const records = await this.sessions.revokedSince(new Date(resumeAt - READ_OVERLAP_MS));
        this.lastReadAt = this.clock.now();
        return records.map((record) => this.revokedEvent(record));
      }
      const records = await this.sessions.revokedSince(new Date(windowStart));
      this.lastReadAt = this.clock.now();
      const last = records.at(-1);
      const snapshot: MessageEvent = {
        type: 'snapshot',
        id: last ? eventId(last) : `${now}-0`,
        data: { revoked: records.map((record) => this.revocation(record)) },
      };
      return [snapshot];
    }).pipe(mergeMap((events) => from(events)));
  }

  private localRevocations(): Observable<Recorded> {
    return this.sessions.revocations.pipe(
      mergeMap(({ sessionIds, at }) => from(sessionIds.map((sessionId) => ({ sessionId, revokedAt: at })))),
    );
  }

  private polledRevocations(): Observable<Recorded> {
    return defer(() => this.pollFrom(this.clock.now()));
  }

  private pollFrom(start: number): Observable<Recorded> {
    let readFrom = start;
    return timer(0, POLL_INTERVAL_MS).pipe(
      // One read at a time: ticks that come while a read is in flight are dropped, not queued.
      exhaustMap(() => {
        const since = new Date(readFrom - READ_OVERLAP_MS);
        const startedAt = this.clock.now();
        return from(
          this.sessions.revokedSince(since).then(
            (records) => {
              readFrom = startedAt;
              this.lastReadAt = this.clock.now();
              return records;
            },
            // The database is away: the next tick asks again from the same point, and the heartbeats
            // stop meanwhile (see heartbeats), so that services fail closed.
            () => [] as Recorded[],
          ),
        );
      }),
      mergeMap((records) => (records.length ? from(records) : EMPTY)),
    );
  }

  private firstTime(record: Recorded): boolean {
    const now = this.clock.now();
    // Past `until` a repeat is harmless (no token of the session is valid any more): pruned once a second.
    if (now - this.prunedAt > 1000) {
      this.prunedAt = now;
      for (const [sid, until] of this.sent) if (until * 1000 < now) this.sent.delete(sid);
    }
    if (this.sent.has(record.sessionId)) return false;
    this.sent.set(record.sessionId, this.revocation(record).until);
    return true;
  }

  private revocation(record: Recorded): FeedRevocation {
    const until = record.revokedAt.getTime() + this.config.accessTokenTtlMs + CLOCK_SKEW_MS;
    return { sid: record.sessionId, until: Math.ceil(until / 1000) };
  }

  private revokedEvent(record: Recorded): MessageEvent {
    return { type: 'revoked', id: eventId(record), data: this.revocation(record) };
  }
}

function eventId(record: Recorded): string {
  return `${record.revokedAt.getTime()}-${record.sessionId}`;
}

/** The time of a Last-Event-ID this feed wrote; undefined for anything else (then a snapshot is sent). */
function resumePoint(lastEventId: string | undefined): number | undefined {
  const match = /^(\d{13})-(?:[a-f0-9]{24}|0)$/.exec(lastEventId ?? '');
  return match ? Number(match[1]) : undefined;
}
