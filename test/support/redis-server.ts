import { findFreePort } from './free-port';
import { dataNodeArgs, RedisProcesses } from './redis-processes';

export { ensureRedisServer } from './redis-processes';

export interface RunningRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A throw-away Redis on loopback: no persistence, its own folder, a free (or given) port. */
export async function startRedis(port?: number): Promise<RunningRedis> {
  const listenPort = port ?? (await findFreePort());
  const processes = await RedisProcesses.create('slj-redis-');
  try {
    await processes.spawn(listenPort, dataNodeArgs(listenPort, processes.dir));
  } catch (error) {
    await processes.stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${listenPort}`, port: listenPort, stop: () => processes.stop() };
}
