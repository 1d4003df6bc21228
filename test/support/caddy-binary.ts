import { execFile } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const CADDY_MODULE = 'github.com/caddyserver/caddy/v2/cmd/caddy';
export const CADDY_VERSION = 'v2.11.9';

/**
 * The Caddy the proxy suites run, built with Go from the Go module proxy on first use into the tool
 * cache (a few minutes on two cores), then reused. Renamed into place, so a concurrent run never
 * starts half a binary.
 */
export async function ensureCaddyBinary(cacheDir: string, log: (message: string) => void): Promise<string> {
  const installDir = join(cacheDir, `caddy-${CADDY_VERSION}`);
  const binary = join(installDir, 'caddy');
  if (
    await access(binary, constants.X_OK).then(
      () => true,
      () => false,
    )
  )
    return binary;

  log(`Building Caddy ${CADDY_VERSION} with Go into ${installDir} (first run only, a few minutes)...`);
  await mkdir(installDir, { recursive: true });
  const buildDir = await mkdtemp(join(installDir, 'build-'));
  try {
    await execFileAsync('go', ['install', '-trimpath', `${CADDY_MODULE}@${CADDY_VERSION}`], {
      env: { ...process.env, GOBIN: buildDir, GOFLAGS: '-mod=mod' },
      timeout: 30 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`Caddy could not be built with Go: ${error.message}\n${error.stderr ?? ''}`, { cause: error });
    });
    await rename(join(buildDir, 'caddy'), binary);
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
  log(`Caddy ${CADDY_VERSION} built: ${binary}`);
  return binary;
}
