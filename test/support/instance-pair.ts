import { listenOnLoopback, type InstanceClient } from './http';
import { createTestApp, sharedInstanceEnv, type EnvOverrides, type TestApp } from './test-app';

/** Two instances of one deployment (one database, one pair of secrets), each on a loopback port of its own. */
export interface InstancePair {
  a: TestApp;
  b: TestApp;
  onA: InstanceClient;
  onB: InstanceClient;
}

export async function startInstancePair(label: string, env: EnvOverrides): Promise<InstancePair> {
  const shared = sharedInstanceEnv(label, env);
  const a = await createTestApp(shared, label);
  const b = await createTestApp(shared, label);
  return { a, b, onA: await listenOnLoopback(a, 'A'), onB: await listenOnLoopback(b, 'B') };
}

/** One database for both: B only closes, A drops it. */
export async function closeInstancePair(pair: Partial<Pick<InstancePair, 'a' | 'b'>> | undefined): Promise<void> {
  await pair?.b?.app.close();
  await pair?.a?.close();
}
