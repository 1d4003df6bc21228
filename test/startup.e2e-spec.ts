import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect } from '../dev/embedded-database/ferretdb-server';
import { findFreePort } from './support/free-port';
import { builtMainJs, developmentStartEnv, runServer } from './support/built-server';
import { send } from './support/http';
import { randomSecret, uniqueDbName } from './support/test-app';

/** The real `node main.js` process: configuration errors stop it, a valid one serves. */
describe('start-up (node main.js)', () => {
  let mainJs: string;
  const databaseUri = () => process.env.MONGODB_URI as string;

  beforeAll(async () => {
    mainJs = await builtMainJs();
  }, 180_000);

  const production = (overrides: Record<string, string | undefined>) => ({
    NODE_ENV: 'production',
    MONGODB_URI: databaseUri(),
    MONGODB_DB_NAME: uniqueDbName('startup'),
    ACCESS_TOKEN_SECRET: randomSecret(),
    REFRESH_TOKEN_SECRET: randomSecret(),
    HOST: '127.0.0.1',
    PORT: '0',
    ...overrides,
  });

  /**
   * Every rule and its message are the parser's, specified in src/config/environment.spec.ts. Here: that
   * a refused configuration stops the real process before it listens, naming the setting, for a missing
   * value, a weak one and one that would switch a defence off.
   */
  const badConfigurations: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['ACCESS_TOKEN_SECRET', { ACCESS_TOKEN_SECRET: undefined }, /ACCESS_TOKEN_SECRET is required/],
    ['MONGODB_URI', { MONGODB_URI: undefined }, /MONGODB_URI is required/],
    ['REFRESH_TOKEN_SECRET', { REFRESH_TOKEN_SECRET: 'a'.repeat(40) }, /REFRESH_TOKEN_SECRET is too weak/],
    ['TRUST_PROXY', { TRUST_PROXY: '0.0.0.0/0' }, /TRUST_PROXY must not trust 0\.0\.0\.0\/0/],
  ];

  /** Every bad configuration's process, started at once (each exits during start-up): output and exit code. */
  const outcomes = new Map<number, Promise<{ code: number | null; output: string }>>();
  beforeAll(() => {
    badConfigurations.forEach(([, overrides], index) => {
      const server = runServer(mainJs, production(overrides));
      outcomes.set(
        index,
        server.exited.then((code) => ({ code, output: server.output() })),
      );
    });
  });

  it.each(badConfigurations.map((row, index) => [...row, index] as const))(
    'production with a bad %s exits non-zero before listening, naming it',
    async (_name, _overrides, message, index) => {
      const { code, output } = await outcomes.get(index)!;
      expect(code).not.toBe(0);
      expect(output).toMatch(message);
      expect(output).not.toMatch(/Listening on/);
      // The message is for an operator, not a stack trace.
      expect(output).not.toMatch(/\n\s+at \S+ \(/);
    },
  );

  it('production with valid configuration serves, then exits 0 on SIGTERM', async () => {
    const port = await findFreePort();
    const server = runServer(mainJs, production({ PORT: String(port) }));
    try {
      await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
      const base = `http://127.0.0.1:${port}`;
      expect((await send(base, 'GET', '/health')).status).toBe(200);
      const register = await send(base, 'POST', '/api/auth/register', {
        json: { username: 'prod_user', password: 'password-123' },
      });
      expect(register.status).toBe(201);
      expect(server.output()).not.toMatch(/random secrets/);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });

  it('ADMIN_USERNAME naming an existing user who is not an administrator: one warning line, the user left as is', async () => {
    const env = production({});
    const firstPort = await findFreePort();
    const first = runServer(mainJs, { ...env, PORT: String(firstPort) });
    try {
      await first.waitForOutput(/Listening on/);
      const register = await send(`http://127.0.0.1:${firstPort}`, 'POST', '/api/auth/register', {
        json: { username: 'plain_user', password: 'password-123' },
      });
      expect(register.status).toBe(201);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);

    const port = await findFreePort();
    const second = runServer(mainJs, {
      ...env,
      PORT: String(port),
      ADMIN_USERNAME: 'plain_user',
      ADMIN_PASSWORD: 'another-password-1',
    });
    try {
      await second.waitForOutput(/Listening on/);
      expect(
        // Log lines are JSON: the quotes around the name arrive escaped.
        second.output().match(/ADMIN_USERNAME \\?"plain_user\\?" names an existing user who is not an administrator/g),
      ).toHaveLength(1);
      // Nothing was granted: the existing user is still a plain user, and the configured password is not hers.
      const base = `http://127.0.0.1:${port}`;
      const asAdmin = await send(base, 'POST', '/api/auth/login', {
        json: { username: 'plain_user', password: 'another-password-1' },
      });
      expect(asAdmin.status).toBe(401);
      const login = await send(base, 'POST', '/api/auth/login', {
        json: { username: 'plain_user', password: 'password-123' },
      });
      const users = await send(base, 'GET', '/api/users', { token: login.body.accessToken });
      expect(users.status).toBe(403);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('development without MONGODB_URI or secrets starts the embedded database and warns once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slj-embedded-'));
    const port = await findFreePort();
    const server = runServer(mainJs, developmentStartEnv(dataDir, port));
    try {
      await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:/, 60_000);
      const output = server.output();
      expect(output.match(/started embedded FerretDB at mongodb:\/\/127\.0\.0\.1:(\d+)/g)).toHaveLength(1);
      expect(output.match(/random secrets/g)).toHaveLength(1);
      const register = await send(`http://127.0.0.1:${port}`, 'POST', '/api/auth/register', {
        json: { username: 'dev_user', password: 'password-123' },
      });
      expect(register.status).toBe(201);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    // The embedded server went down with the app.
    const embeddedPort = Number(
      /started embedded FerretDB at mongodb:\/\/127\.0\.0\.1:(\d+)/.exec(server.output())?.[1],
    );
    expect(await canConnect('127.0.0.1', embeddedPort)).toBe(false);
    await rm(dataDir, { recursive: true, force: true });
  });
});
