import { Inject, Injectable, type MessageEvent, type OnApplicationShutdown } from '@nestjs/common';
import {
  concat,
  defer,
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
  switchMap,
  takeUntil,
  timer,
} from 'rxjs';
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
/** Instances write revocations in their own clocks: each read goes back this far, and repeats are dropped. */
const READ_OVERLAP_MS = 2_000;
/** An instance ahead by this much issues tokens whose exp is that much later (AccessTokenService's iat skew). */
const CLOCK_SKEW_MS = 60_000;

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
export class RevocationFeed implements OnApplicationShutdown {
  private readonly ended = new Subject<void>();
  /** Sessions already sent on the live stream, until their `until`: the poll sees them again. */
  private readonly sent = new Map<string, number>();
  private prunedAt = 0;
  private readonly live: Observable<MessageEvent>;

  constructor(
    private readonly sessions: SessionsService,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
    private readonly clock: Clock,
  ) {
    this.live = merge(this.localRevocations(), this.polledRevocations()).pipe(
      filter((event) => this.firstTime(event)),
      map((event) => this.revokedEvent(event)),
      share(),
    );
  }

  /** The stream of one service: snapshot (or the events after Last-Event-ID), then live events and heartbeats. */
  stream(lastEventId: string | undefined): Observable<MessageEvent> {
    const heartbeats = interval(HEARTBEAT_INTERVAL_MS).pipe(
      map((): MessageEvent => ({ type: 'heartbeat', data: { at: this.clock.now() } })),
    );
    // The live events are listened to before the snapshot is read, so that none falls between the two;
    // one may come twice, which a set of revoked sessions absorbs. Heartbeats start after the opening:
    // a service may take the first one as the end of what it missed.
    return merge(this.live, concat(this.opening(lastEventId), heartbeats)).pipe(takeUntil(this.ended));
  }

  /** Ends every stream (services reconnect elsewhere): on shutdown, before in-flight requests are awaited. */
  endStreams(): void {
    this.ended.next();
  }

  onApplicationShutdown(): void {
    this.endStreams();
  }

  private opening(lastEventId: string | undefined): Observable<MessageEvent> {
    return defer(async () => {
      const now = this.clock.now();
      const windowStart = now - this.config.accessTokenTtlMs - CLOCK_SKEW_MS;
      const resumeAt = resumePoint(lastEventId);
      if (resumeAt !== undefined && resumeAt >= windowStart) {
        const records = await this.sessions.revokedSince(new Date(resumeAt - READ_OVERLAP_MS));
        return records.map((record) => this.revokedEvent(record));
      }
      const records = await this.sessions.revokedSince(new Date(windowStart));
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
      // One read at a time; a slow database skips ticks rather than piling reads up.
      switchMap(() => {
        const since = new Date(readFrom - READ_OVERLAP_MS);
        const startedAt = this.clock.now();
        return from(
          this.sessions.revokedSince(since).then(
            (records) => {
              readFrom = startedAt;
              return records;
            },
            // The database is away: the next tick asks again from the same point.
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
