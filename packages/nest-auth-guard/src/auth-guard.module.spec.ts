import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AuthGuardModule, RevocationFeedClient } from './index';
import { createSigningKey, FakeAuthServer, waitFor } from './testing/fake-auth-server';
import { createApp, MAX_SILENCE_MS, RoutesController } from './testing/guarded-app';

describe('AuthGuardModule lifecycle', () => {
  let server: FakeAuthServer;

  beforeEach(async () => {
    server = await FakeAuthServer.start([await createSigningKey('EdDSA')]);
  });

  afterEach(() => server.close());

  it('leaves no feed connection behind after app.close(), and reconnects no more', async () => {
    const app = await createApp(server, 'express');
    const feed = app.get(RevocationFeedClient);
    expect(server.openStreams).toBe(1);

    await app.close();

    expect(feed.status.inSync).toBe(false);
    await waitFor(() => server.openStreams === 0, 'the feed connection to close');
    const requests = server.feedRequests.length;
    await new Promise((resolve) => setTimeout(resolve, 3 * MAX_SILENCE_MS));
    expect(server.feedRequests).toHaveLength(requests);
  });

  it('builds the options through forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AuthGuardModule.forRootAsync({
          imports: [
            {
              module: class SettingsModule {},
              providers: [{ provide: 'FEED_TOKEN', useValue: server.feedToken }],
              exports: ['FEED_TOKEN'],
            },
          ],
          inject: ['FEED_TOKEN'],
          useFactory: async (feedToken: string) => ({
            issuer: server.issuer,
            jwksUrl: server.jwksUrl,
            feedUrl: server.feedUrl,
            feedToken,
          }),
        }),
      ],
      controllers: [RoutesController],
    }).compile();
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    try {
      await request(app.getHttpServer()).get('/me').expect(401);
      expect(server.feedRequests[0]?.authorization).toBe(`Bearer ${server.feedToken}`);
      expect(app.get(RevocationFeedClient).status.inSync).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('refuses invalid options at startup', () => {
    expect(() =>
      AuthGuardModule.forRoot({
        issuer: server.issuer,
        jwksUrl: server.jwksUrl,
        feedUrl: server.feedUrl,
        feedToken: server.feedToken,
        algorithms: ['HS256' as never],
      }),
    ).toThrow(/HS256 refused/);
  });
});
