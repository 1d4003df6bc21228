import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedis, type RunningRedis } from '../../support/redis-server';
import { InstanceClient, listenOnLoopback } from '../../support/http';
import { createTestApp, sharedInstanceEnv, type EnvOverrides, type TestApp } from '../../support/test-app';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream';
import { startProxy, type ProxyKind, type RunningProxy } from './proxy-servers';

/**
 * The forward-auth deployment of deploy/: a proxy (the deploy file itself, addresses adapted) in
 * front of two instances of the service sharing one database and one Redis, protecting an upstream
 * that records what reaches it. The instances keep the production limits (AUTH_RATE_LIMIT at its
 * default) and trust the proxy on loopback.
 */
export interface ProxiedDeployment {
  proxy: RunningProxy;
  /** Requests through the proxy. */
  through: InstanceClient;
  /** Each instance directly, as another client of the service would reach it. */
  instances: [InstanceClient, InstanceClient];
  upstream: EchoUpstream;
  /** The Redis both instances share (this deployment's own). */
  redisUrl: string;
  /** What both instances sign access tokens with, for forging tests. */
  accessTokenSecret: string;
  /** GET /api/auth/verify requests each instance has received so far. */
  verifyCalls: () => [number, number];
  /** The verify requests the instances received, in order: which instance (0 or 1), with what headers. */
  verifyRequests: Array<{ instance: number; headers: IncomingHttpHeaders }>;
  /** TCP connections opened to the instances so far. */
  connectionsOpened: () => number;
  /** Stops the second instance (B) only. */
  stopSecondInstance: () => Promise<void>;
  /** Stops every instance still running (the proxy and the upstream keep running). */
  stopInstances: () => Promise<void>;
  close: () => Promise<void>;
}

export async function startProxiedDeployment(
  kind: ProxyKind,
  label: string,
  env: EnvOverrides = {},
): Promise<ProxiedDeployment> {
  const started: { apps: TestApp[]; redis?: RunningRedis; upstream?: EchoUpstream; proxy?: RunningProxy } = {
    apps: [],
  };
  const close = async () => {
    // Each step whatever became of the one before: a failed stop must not leave the rest running.
    const steps = [
      () => started.proxy?.stop(),
      () => started.upstream?.close(),
      () => stopApps(started.apps),
      () => started.redis?.stop(),
    ];
    const failures: unknown[] = [];
    for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  try {
    // A Redis of its own: the rate-limit budget is per address, and every test request comes from 127.0.0.1.
    started.redis = await startRedis();
    const shared = sharedInstanceEnv(label, {
      REDIS_URL: started.redis.url,
      TRUST_PROXY: '127.0.0.1',
      AUTH_RATE_LIMIT: undefined,
      COOKIE_SECURE: 'false',
      ...env,
    });
    for (let i = 0; i < 2; i++) started.apps.push(await createTestApp(shared, label));
    const instances: [InstanceClient, InstanceClient] = [
      await listenOnLoopback(started.apps[0], 'A'),
      await listenOnLoopback(started.apps[1], 'B'),
    ];
    const verifyRequests: ProxiedDeployment['verifyRequests'] = [];
    let connections = 0;
    started.apps.forEach((t, i) => {
      const server = t.app.getHttpServer();
      // First in line: the framework rewrites req.url while it routes.
      server.prependListener('request', (req: IncomingMessage) => {
        if (!req.url?.startsWith('/api/auth/verify')) return;
        verifyRequests.push({ instance: i, headers: req.headers });
      });
      server.on('connection', () => (connections += 1));
    });
    started.upstream = await startEchoUpstream();
    const ports = started.apps.map((t) => (t.app.getHttpServer().address() as AddressInfo).port);
    started.proxy = await startProxy(kind, {
      appPorts: [ports[0], ports[1]],
      upstreamPort: started.upstream.port,
    });
    return {
      proxy: started.proxy,
      through: new InstanceClient(started.proxy.url, kind),
      instances,
      upstream: started.upstream,
      redisUrl: started.redis.url,
      accessTokenSecret: started.apps[0].secrets.access,
      verifyCalls: () => [0, 1].map((i) => verifyRequests.filter((r) => r.instance === i).length) as [number, number],
      verifyRequests,
      connectionsOpened: () => connections,
      stopSecondInstance: async () => {
        const second = started.apps.splice(1, 1)[0];
        await second?.app.close();
      },
      stopInstances: async () => {
        const apps = started.apps;
        started.apps = [];
        await stopApps(apps);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function stopApps(apps: TestApp[]): Promise<void> {
  // One database for both: the others only close, the first drops it.
  for (const t of apps.slice(1)) await t.app.close();
  await apps[0]?.close();
}
