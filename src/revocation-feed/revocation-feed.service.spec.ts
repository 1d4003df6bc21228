import type { MessageEvent } from '@nestjs/common';
import { Subject, take, toArray, firstValueFrom, filter } from 'rxjs';
import { makeAuthConfig } from '../config/testing/auth-config.fixture';
import type { LocalRevocation, SessionsService } from '../sessions/sessions.service';
import { RevocationFeed } from './revocation-feed.service';

const NOW = 1_900_000_000_000;
const SID_1 = '6650f0c2a1b2c3d4e5f60711';
const SID_2 = '6650f0c2a1b2c3d4e5f60712';
const TTL_MS = 15 * 60_000;

describe(RevocationFeed.name, () => {
  let local: Subject<LocalRevocation>;
  let revokedSince: jest.Mock;
  let sut: RevocationFeed;
  let now: number;

  beforeEach(() => {
    now = NOW;
    local = new Subject();
    revokedSince = jest.fn().mockResolvedValue([]);
    const sessions = { revocations: local.asObservable(), revokedSince } as unknown as SessionsService;
    sut = new RevocationFeed(sessions, makeAuthConfig({ accessTokenTtlMs: TTL_MS }), { now: () => now });
  });
  afterEach(() => sut.endStreams());

  const next = (count: number, lastEventId?: string, only = (event: MessageEvent) => event.type !== 'heartbeat') =>
    firstValueFrom(sut.stream(lastEventId).pipe(filter(only), take(count), toArray()));

  it('opens with a snapshot of the revocations of the last access-token lifetime and a minute', async () => {
    revokedSince.mockResolvedValueOnce([{ sessionId: SID_1, revokedAt: new Date(NOW - 5_000) }]);
    const [snapshot] = await next(1);
    expect(revokedSince).toHaveBeenCalledWith(new Date(NOW - TTL_MS - 60_000));
    expect(snapshot).toEqual({
      type: 'snapshot',
      id: `${NOW - 5_000}-${SID_1}`,
      data: { revoked: [{ sid: SID_1, until: Math.ceil((NOW - 5_000 + TTL_MS + 60_000) / 1000) }] },
    });
  });

  it('resumes from a Last-Event-ID it wrote with the revocations since (5 s earlier), without a snapshot', async () => {
    revokedSince.mockResolvedValue([{ sessionId: SID_2, revokedAt: new Date(NOW - 1_000) }]);
    const [event] = await next(1, `${NOW - 10_000}-${SID_1}`);
    expect(revokedSince).toHaveBeenCalledWith(new Date(NOW - 15_000));
    expect(event).toMatchObject({ type: 'revoked', id: `${NOW - 1_000}-${SID_2}`, data: { sid: SID_2 } });
  });

  it.each([['garbage'], [`${NOW - TTL_MS - 120_000}-${SID_1}`]])(
    'sends a snapshot for a Last-Event-ID it cannot resume from (%s)',
    async (lastEventId) => {
      const [event] = await next(1, lastEventId);
      expect(event.type).toBe('snapshot');
    },
  );

  it("sends this instance's revocations as they are made, each session once though the poll sees it too", async () => {
    const events = firstValueFrom(
      sut.stream(undefined).pipe(
        filter((event) => event.type !== 'heartbeat'),
        toArray(),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    local.next({ sessionIds: [SID_1, SID_2], at: new Date(NOW) });
    revokedSince.mockResolvedValue([{ sessionId: SID_1, revokedAt: new Date(NOW) }]);
    // Several polls (every 50 ms) find SID_1 again.
    await new Promise((resolve) => setTimeout(resolve, 200));
    sut.endStreams();
    const received = await events;
    expect(received.map((event) => [event.type, (event.data as { sid?: string }).sid])).toEqual([
      ['snapshot', undefined],
      ['revoked', SID_1],
      ['revoked', SID_2],
    ]);
  });

  it("reads other instances' revocations from the database while someone listens", async () => {
    const events = next(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    revokedSince.mockResolvedValue([{ sessionId: SID_2, revokedAt: new Date(NOW - 100) }]);
    const [, revoked] = await events;
    expect(revoked).toMatchObject({ type: 'revoked', data: { sid: SID_2 } });
  });

  it('sends the snapshot before a live event that came while it was being read', async () => {
    let answer!: (records: unknown[]) => void;
    revokedSince.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const events = next(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    local.next({ sessionIds: [SID_2], at: new Date(NOW) });
    answer([{ sessionId: SID_1, revokedAt: new Date(NOW - 1_000) }]);
    expect((await events).map((event) => event.type)).toEqual(['snapshot', 'revoked']);
  });

  it('stops the heartbeats while the database cannot be read, so that services fail closed', async () => {
    const heartbeats: MessageEvent[] = [];
    const subscription = sut
      .stream(undefined)
      .pipe(filter((event) => event.type === 'heartbeat'))
      .subscribe((event) => heartbeats.push(event));
    await new Promise((resolve) => setTimeout(resolve, 20));
    revokedSince.mockRejectedValue(new Error('database down'));
    // The last good read is now older than the database silence bound (1 s).
    now = NOW + 1_500;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    subscription.unsubscribe();
    expect(heartbeats).toEqual([]);
  });

  it('refuses new streams once shutting down', () => {
    expect(sut.closing).toBe(false);
    sut.beforeApplicationShutdown();
    expect(sut.closing).toBe(true);
  });

  it('sends heartbeats carrying the id of the last event sent, never a number of their own', async () => {
    revokedSince.mockResolvedValueOnce([{ sessionId: SID_1, revokedAt: new Date(NOW - 5_000) }]);
    const [heartbeat] = await next(1, undefined, (event) => event.type === 'heartbeat');
    expect(heartbeat).toEqual({ type: 'heartbeat', id: `${NOW - 5_000}-${SID_1}`, data: { at: NOW } });
  });
});
