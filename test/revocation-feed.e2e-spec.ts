import { randomBytes } from 'node:crypto';
import { EventStreamReader, type StreamEvent } from './support/event-stream';
import { jwtPayload, PASSWORD, uniqueUsername } from './support/http';
import { closeInstancePair, startInstancePair, type InstancePair } from './support/instance-pair';
import { createTestApp, testRedisUrl } from './support/test-app';
import { testClock } from './support/test-clock';

/**
 * GET /api/auth/revocations on two instances sharing one database (and Redis): a service connected to
 * B hears of a logout answered by A; the feed takes only its credential; a reconnection with
 * Last-Event-ID gets what it missed.
 */

jest.setTimeout(60_000);

const FEED_TOKEN = randomBytes(32).toString('base64url');
const auth = (token = FEED_TOKEN) => ({ Authorization: `Bearer ${token}` });
const revokedSid = (sid: string) => (event: StreamEvent) =>
  event.event === 'revoked' && (event.data as { sid: string }).sid === sid;

describe.each([
  ['database mode', false],
  ['Redis mode', true],
])('revocation feed, two instances, %s', (_mode, withRedis) => {
  let pair: InstancePair;
  const readers: EventStreamReader[] = [];
  const connect = (base: string, headers: Record<string, string> = auth()) => {
    const reader = new EventStreamReader(`${base}/api/auth/revocations`, headers);
    readers.push(reader);
    return reader;
  };
  async function loggedIn() {
    const username = uniqueUsername('feed');
    expect((await pair.onA.register(username, PASSWORD)).status).toBe(201);
    const res = await pair.onA.login(username, PASSWORD);
    return {
      accessToken: res.body.accessToken as string,
      sid: jwtPayload(res.body.accessToken as string).sid as string,
    };
  }
  const logoutOn = (base: string, accessToken: string) =>
    fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { Authorization: `Bearer ${accessToken}` } });

  beforeAll(async () => {
    pair = await startInstancePair(`feed${withRedis ? 'redis' : 'db'}`, {
      REVOCATION_FEED_TOKEN: FEED_TOKEN,
      REDIS_URL: withRedis ? testRedisUrl() : undefined,
    });
  });
  afterAll(async () => {
    await Promise.all(readers.map((reader) => reader.close()));
    await closeInstancePair(pair);
  });

  it('refuses a missing or wrong credential with 401, and sends nothing', async () => {
    for (const headers of [{}, auth('not-the-feed-token'), auth(`${FEED_TOKEN}x`), { Authorization: FEED_TOKEN }]) {
      const reader = connect(pair.onB.baseUrl, headers);
      expect(await reader.open()).toBe(401);
      await reader.close();
      expect(reader.events).toEqual([]);
    }
  });

  it('opens with a snapshot holding a session revoked before, then heartbeats', async () => {
    const before = await loggedIn();
    expect((await logoutOn(pair.onA.baseUrl, before.accessToken)).status).toBe(200);
    const reader = connect(pair.onB.baseUrl);
    expect(await reader.open()).toBe(200);
    const snapshot = await reader.waitFor((event) => event.event === 'snapshot', 5_000);
    const revoked = (snapshot.data as { revoked: Array<{ sid: string; until: number }> }).revoked;
    const entry = revoked.find((item) => item.sid === before.sid);
    expect(entry).toBeDefined();
    // Valid at most an access-token lifetime (15 min) plus the allowed clock skew after the logout, in
    // the apps' time.
    const now = testClock.now() / 1000;
    expect(entry!.until).toBeGreaterThan(now);
    expect(entry!.until).toBeLessThanOrEqual(now + 15 * 60 + 60 + 5);
    // A heartbeat repeats the last event's id: a client's Last-Event-ID stays a cursor of this feed.
    const heartbeat = await reader.waitFor((event) => event.event === 'heartbeat', 5_000);
    expect(heartbeat.id).toBe(snapshot.id);
  });

  it('tells a service connected to B of a logout answered by A, and of one answered by B', async () => {
    const reader = connect(pair.onB.baseUrl);
    await reader.waitFor((event) => event.event === 'snapshot', 5_000);
    for (const base of [pair.onA.baseUrl, pair.onB.baseUrl]) {
      const session = await loggedIn();
      expect((await logoutOn(base, session.accessToken)).status).toBe(200);
      const event = await reader.waitFor(revokedSid(session.sid), 5_000);
      expect(event.id).toMatch(new RegExp(`^\\d{13}-${session.sid}$`));
    }
  });

  it('sends a reconnection with Last-Event-ID the revocations it missed, without a snapshot', async () => {
    const first = connect(pair.onB.baseUrl);
    const seen = await first.waitFor((event) => event.event === 'snapshot', 5_000);
    await first.close();
    const missed = await loggedIn();
    expect((await logoutOn(pair.onA.baseUrl, missed.accessToken)).status).toBe(200);
    const again = connect(pair.onA.baseUrl, { ...auth(), 'Last-Event-ID': seen.id! });
    await again.waitFor(revokedSid(missed.sid), 5_000);
    expect(again.events.some((event) => event.event === 'snapshot')).toBe(false);
  });
});

describe('revocation feed and shutdown', () => {
  it('closing the app ends the open streams instead of waiting for them', async () => {
    const t = await createTestApp({ REVOCATION_FEED_TOKEN: FEED_TOKEN }, 'feedclose');
    await t.app.listen(0, '127.0.0.1');
    const base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const reader = new EventStreamReader(`${base}/api/auth/revocations`, auth());
    await reader.waitFor((event) => event.event === 'snapshot', 5_000);
    const closed = t.close().then(() => 'closed');
    const timeout = new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000));
    expect(await Promise.race([closed, timeout])).toBe('closed');
    await reader.close();
    expect(reader.ended).toBe(true);
  });
});

describe('revocation feed off', () => {
  it('is 404 without REVOCATION_FEED_TOKEN, whatever the credential', async () => {
    const t = await createTestApp({ REVOCATION_FEED_TOKEN: undefined }, 'feedoff');
    try {
      expect((await t.http().get('/api/auth/revocations').set(auth())).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
