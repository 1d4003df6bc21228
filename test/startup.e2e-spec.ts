import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, findFreePort } from '../src/database/embedded/ferretdb-server';
import { builtMainJs, runServer } from './support/built-server';
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

  it.each([
    ['ACCESS_TOKEN_SECRET', { ACCESS_TOKEN_SECRET: undefined }, /ACCESS_TOKEN_SECRET is required/],
    ['REFRESH_TOKEN_SECRET', { REFRESH_TOKEN_SECRET: undefined }, /REFRESH_TOKEN_SECRET is required/],
    ['ACCESS_TOKEN_SECRET', { ACCESS_TOKEN_SECRET: 'too-short' }, /ACCESS_TOKEN_SECRET must be at least 32 characters/],
    ['ACCESS_TOKEN_SECRET', { ACCESS_TOKEN_SECRET: 'a'.repeat(40) }, /ACCESS_TOKEN_SECRET is too weak/],
    [
      'REFRESH_TOKEN_SECRET',
      {
        REFRESH_TOKEN_SECRET: 'same-secret-for-both-0123456789abcdef',
        ACCESS_TOKEN_SECRET: 'same-secret-for-both-0123456789abcdef',
      },
      /REFRESH_TOKEN_SECRET must differ/,
    ],
    ['MONGODB_URI', { MONGODB_URI: undefined }, /MONGODB_URI is required/],
    ['ACCESS_TOKEN_EXPIRY', { ACCESS_TOKEN_EXPIRY: 'soon' }, /ACCESS_TOKEN_EXPIRY must be a positive duration/],
  ])('production with a bad %s exits non-zero before listening, naming it', async (_name, overrides, message) => {
    const server = runServer(mainJs, production(overrides));
    const code = await server.exited;
    expect(code).not.toBe(0);
    expect(server.output()).toMatch(message);
    expect(server.output()).not.toMatch(/Listening on/);
    // The message is for an operator, not a stack trace.
    expect(server.output()).not.toMatch(/\n\s+at \S+ \(/);
  });

  it('production with valid configuration serves, then exits 0 on SIGTERM', async () => {
    const port = await findFreePort();
    const server = runServer(mainJs, production({ PORT: String(port) }));
    try {
      await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const register = await fetch(`http://127.0.0.1:${port}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'prod_user', password: 'password-123' }),
      });
      expect(register.status).toBe(201);
      expect(server.output()).not.toMatch(/random secrets/);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });

  it('development without MONGODB_URI or secrets starts the embedded database and warns once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slj-embedded-'));
    const port = await findFreePort();
    const server = runServer(mainJs, {
      NODE_ENV: 'development',
      MONGODB_URI: undefined,
      MONGODB_DB_NAME: undefined,
      ACCESS_TOKEN_SECRET: undefined,
      REFRESH_TOKEN_SECRET: undefined,
      EMBEDDED_DB_DIR: dataDir,
      PORT: String(port),
      HOST: undefined,
    });
    try {
      await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:/, 60_000);
      const output = server.output();
      expect(output.match(/started embedded FerretDB at mongodb:\/\/127\.0\.0\.1:(\d+)/g)).toHaveLength(1);
      expect(output.match(/random secrets/g)).toHaveLength(1);
      const login = await fetch(`http://127.0.0.1:${port}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'dev_user', password: 'password-123' }),
      });
      expect(login.status).toBe(201);
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
