import { Logger } from '@nestjs/common';
import { resolveAuthGuardOptions, type AuthGuardOptions } from './auth-guard.options';
import { RevocationFeedClient } from './revocation-feed.client';
import { createSigningKey, FakeAuthServer, newSessionId, nowSeconds, waitFor } from './testing/fake-auth-server';

// Ten heartbeats of the fake (50 ms) within the bound: a busy machine does not make the feed look silent.
const MAX_SILENCE_MS = 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(RevocationFeedClient.name, () => {
  let server: FakeAuthServer;
  let client: RevocationFeedClient;

  const startClient = (options: Partial<AuthGuardOptions> = {}) => {
    client = new RevocationFeedClient(
      resolveAuthGuardOptions(
        server.guardOptions({ maxFeedSilenceMs: MAX_SILENCE_MS, feedReconnectDelayMs: 50, ...options }),
      ),
    );
    client.start();
    return client;
  };

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(async () => {
    server = await FakeAuthServer.start([await createSigningKey('EdDSA')]);
  });

  afterEach(async () => {
    client?.stop();
    await server.close();
  });

  it('syncs from the snapshot, with the revocations it lists, sending the feed token', async () => {
    const revoked = newSessionId();
    server.revoke(revoked);

    expect(await startClient().waitForSync(2000)).toBe(true);

    expect(client.isRevoked(revoked)).toBe(true);
    expect(client.isRevoked(newSessionId())).toBe(false);
    expect(client.status).toMatchObject({ inSync: true, revokedCount: 1, failures: 0 });
    expect(client.status.lastEventAt).toBeInstanceOf(Date);
    expect(server.feedRequests[0]).toEqual({
      authorization: `Bearer ${server.feedToken}`,
      lastEventId: undefined,
      opening: 'snapshot',
    });
  });

  it('applies revoked events as they arrive, whatever the case of the session id', async () => {
    await startClient().waitForSync(2000);
    const [first, second] = [newSessionId(), newSessionId()];

    server.revoke(first);
    await waitFor(() => client.isRevoked(first), 'the first revocation');
    server.revoke(second.toUpperCase());
    await waitFor(() => client.isRevoked(second), 'the second revocation');

    expect(client.status.revokedCount).toBe(2);
  });

  it('stays in sync on heartbeats alone, for longer than its bound', async () => {
    // A bound of 40 heartbeats here: a stall of the test process itself must not read as silence.
    const bound = 2000;
    await startClient({ maxFeedSilenceMs: bound }).waitForSync(2000);

    const started = performance.now();
    while (performance.now() - started < 1.5 * bound) {
      expect(client.isInSync()).toBe(true);
      await sleep(50);
    }
  });

  it('is out of sync once the last event is older than maxFeedSilenceMs', async () => {
    await startClient().waitForSync(2000);

    expect(client.isInSync(performance.now())).toBe(true);
    expect(client.isInSync(performance.now() + MAX_SILENCE_MS + 1)).toBe(false);
  });

  it('falls out of sync while the feed is silent, and back once events flow again', async () => {
    await startClient().waitForSync(2000);

    server.mute();
    await waitFor(() => !client.isInSync(), 'the silence to be noticed');
    expect(client.status.inSync).toBe(false);
    server.unmute();

    expect(await client.waitForSync(2000)).toBe(true);
  });

  it('reconnects a connection that went silent, with the last cursor', async () => {
    await startClient().waitForSync(2000);
    const id = server.revoke(newSessionId());
    await waitFor(() => client.status.revokedCount === 1, 'the revocation');

    server.mute();
    await waitFor(() => server.feedRequests.length >= 2, 'a second connection');
    server.unmute();

    expect(await client.waitForSync(2000)).toBe(true);
    expect(server.feedRequests[1]).toMatchObject({ lastEventId: String(id), opening: 'resume' });
  });

  it('reconnects after a dropped connection with Last-Event-ID, and receives what it missed', async () => {
    const before = newSessionId();
    const missed = newSessionId();
    await startClient().waitForSync(2000);
    const lastSeen = server.revoke(before);
    await waitFor(() => client.isRevoked(before), 'the revocation before the drop');

    server.dropFeedConnections();
    server.revoke(missed);

    await waitFor(() => client.isRevoked(missed), 'the revocation missed while disconnected');
    expect(await client.waitForSync(2000)).toBe(true);
    expect(server.feedRequests[1]).toEqual({
      authorization: `Bearer ${server.feedToken}`,
      lastEventId: String(lastSeen),
      opening: 'resume',
    });
  });

  it('takes a new snapshot when the server cannot resume, keeping what it knew', async () => {
    const known = newSessionId();
    await startClient().waitForSync(2000);
    server.revoke(known);
    await waitFor(() => client.isRevoked(known), 'the revocation');
    server.resumable = false;

    server.dropFeedConnections();
    await waitFor(() => server.feedRequests.length >= 2 && client.isInSync(), 'a new sync');

    expect(server.feedRequests[1].opening).toBe('snapshot');
    expect(client.isRevoked(known)).toBe(true);
  });

  it.each([502, 404])('keeps retrying while the feed answers %i, and syncs once it is back', async (status) => {
    server.feedStatus = status;
    startClient();

    await waitFor(() => server.feedRequests.length >= 3, 'several attempts');
    expect(client.isInSync()).toBe(false);
    expect(client.status.failures).toBeGreaterThanOrEqual(2);
    server.feedStatus = 200;

    expect(await client.waitForSync(3000)).toBe(true);
    expect(client.status.failures).toBe(0);
  });

  it('never syncs with a wrong feed token', async () => {
    expect(await startClient({ feedToken: 'wrong' }).waitForSync(400)).toBe(false);

    expect(server.feedRequests.length).toBeGreaterThanOrEqual(2);
    expect(server.feedRequests.every((request) => request.opening === 'refused')).toBe(true);
  });

  it.each([
    ['a revoked event with a malformed session id', 'event: revoked\nid: 7\ndata: {"sid":"zz","until":1}\n\n'],
    ['a revoked event without until', `event: revoked\nid: 7\ndata: {"sid":"${newSessionId()}"}\n\n`],
    ['a snapshot that is not JSON', 'event: snapshot\nid: 7\ndata: not json\n\n'],
  ])('starts over from a fresh snapshot after %s', async (_label, raw) => {
    await startClient().waitForSync(2000);
    server.revoke(newSessionId());
    await waitFor(() => client.status.revokedCount === 1, 'the revocation');

    server.sendRaw(raw);
    await waitFor(() => server.feedRequests.length >= 2, 'a new connection');

    expect(server.feedRequests[1]).toMatchObject({ lastEventId: undefined });
    expect(await client.waitForSync(2000)).toBe(true);
    expect(server.feedRequests[1].opening).toBe('snapshot');
  });

  it('keeps a revocation until past until plus the clock tolerance, then forgets it', async () => {
    const sid = newSessionId();
    const until = nowSeconds() + 600;
    server.revoke(sid, until);
    await startClient({ clockToleranceSeconds: 5 }).waitForSync(2000);

    client.prune(until * 1000 + 1);
    expect(client.isRevoked(sid)).toBe(true);
    client.prune((until + 5) * 1000);
    expect(client.isRevoked(sid)).toBe(true);

    client.prune((until + 3600) * 1000);
    expect(client.isRevoked(sid)).toBe(false);
    expect(client.status.revokedCount).toBe(0);
  });

  it('drops snapshot entries already past, and prunes on its own as time passes', async () => {
    const [past, soon, later] = [newSessionId(), newSessionId(), newSessionId()];
    server.revoke(past, nowSeconds() - 3600);
    server.revoke(later);
    await startClient({ clockToleranceSeconds: 0 }).waitForSync(2000);
    expect(client.isRevoked(past)).toBe(false);

    server.revoke(soon, nowSeconds());
    await waitFor(() => client.isRevoked(soon), 'the short-lived revocation');
    await waitFor(() => !client.isRevoked(soon), 'the short-lived revocation to be pruned', 4000);

    expect(client.isRevoked(later)).toBe(true);
  });

  it('closes its connection on stop and does not reconnect', async () => {
    await startClient().waitForSync(2000);
    expect(server.openStreams).toBe(1);
    const requests = server.feedRequests.length;

    client.stop();

    expect(client.isInSync()).toBe(false);
    await waitFor(() => server.openStreams === 0, 'the stream to close');
    await sleep(2 * MAX_SILENCE_MS);
    expect(server.feedRequests).toHaveLength(requests);
  });
});
