import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the test tools built from source (FerretDB, Caddy) are kept between runs. */
export function toolCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secure-logout-jwt');
}
