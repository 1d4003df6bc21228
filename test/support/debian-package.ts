import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const APT = { timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024 };

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    await execFileAsync(command, args, { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs a Debian package with apt-get when its command is missing (the machines this project runs
 * on are root and reach Debian's packages), so `npm test` needs no step of its own. `probe` is a
 * harmless invocation of the command, such as `--version`.
 */
export async function ensureDebianPackage(
  command: string,
  probe: string[],
  packageName: string,
  log: (message: string) => void,
): Promise<void> {
  if (await runs(command, probe)) return;
  log(`${command} not found: installing Debian package ${packageName} (apt-get, first run only)...`);
  const install = () =>
    execFileAsync('apt-get', ['install', '-y', '--no-install-recommends', packageName], {
      ...APT,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  try {
    await install().catch(async () => {
      await execFileAsync('apt-get', ['update'], APT);
      await install();
    });
  } catch (error) {
    throw new Error(`${packageName} is needed by the tests and could not be installed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
