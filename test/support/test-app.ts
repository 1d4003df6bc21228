import type { Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { App } from 'supertest/types';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../src/app.setup';
import { FEATURE_CONFIGS, parseEnvironment } from '../../src/config';
import { Clock } from '../../src/common/clock/clock';
import { PASSWORD_HASH_COST } from '../../src/crypto/password-hash-cost';
import { testHttpAdapter } from './http-adapter';
import { testClock } from './test-clock';
import { passwordHashCostForTests } from './password-hash-cost';
import { TEST_ENV } from './test-env';

export type EnvOverrides = Record<string, string | undefined>;

export interface TestApp {
  app: INestApplication;
  /** supertest against the app's HTTP server (no port needed). */
  http: () => ReturnType<typeof request>;
  server: App;
  connection: Connection;
  dbName: string;
  /** The secrets this app signs with, for forging tests. */
  secrets: { access: string; refresh: string };
  close: () => Promise<void>;
}

/** A database name unique to this test file and call: e2e files run in parallel on one server. */
export function uniqueDbName(label = 'e2e'): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

/** The Redis started for this test run, for suites that run the app in Redis mode. */
export function testRedisUrl(): string {
  const url = process.env[TEST_ENV.redisUrl];
  if (!url) throw new Error('No test Redis: the Jest global setup did not run');
  return url;
}

/**
 * The environment of several instances of one deployment: one database and one pair of secrets
 * (pass it to createTestApp once per instance; close one with t.close(), the others with app.close()).
 */
export function sharedInstanceEnv(label: string, env: EnvOverrides = {}): EnvOverrides {
  return {
    MONGODB_DB_NAME: uniqueDbName(label),
    ACCESS_TOKEN_SECRET: randomSecret(),
    REFRESH_TOKEN_SECRET: randomSecret(),
    ...env,
  };
}

export function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * Boots the real AppModule (real database over TCP, real guards, filters and pipes) configured by the
 * given variables on top of the process's, parsed as the app would parse them.
 */
export async function createTestApp(
  overrides: EnvOverrides = {},
  label = 'e2e',
  /** Modules of the adopting team's own, mounted beside AppModule (see test/decorators). */
  extraImports: Type[] = [],
): Promise<TestApp> {
  const secrets = { access: randomSecret(), refresh: randomSecret() };
  const env: EnvOverrides = {
    NODE_ENV: 'test',
    MONGODB_DB_NAME: uniqueDbName(label),
    ACCESS_TOKEN_SECRET: secrets.access,
    REFRESH_TOKEN_SECRET: secrets.refresh,
    // Suites make far more than 100 auth requests a minute from 127.0.0.1; the limit has its own test.
    AUTH_RATE_LIMIT: '0',
    PASSWORD_CHANGE_RATE_LIMIT: '0',
    // Quiet test output; the logging suite turns it on and reads LOG_FILE.
    LOG_LEVEL: 'silent',
    // express or fastify, by Jest project: the suites run on both.
    HTTP_ADAPTER: testHttpAdapter(),
    ...overrides,
  };
  // The app's settings come from these values alone, as providers: process.env is left untouched.
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) values[name] = value;
  const environment = parseEnvironment(values);
  let builder = Test.createTestingModule({ imports: [AppModule, ...extraImports] })
    .overrideProvider(Clock)
    .useValue(testClock)
    .overrideProvider(PASSWORD_HASH_COST)
    .useValue(passwordHashCostForTests());
  for (const { config, from } of FEATURE_CONFIGS)
    builder = builder.overrideProvider(config.KEY).useValue(from(environment));
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(environment), APP_OPTIONS);
  await configureApp(app);
  await app.init();
  // supertest hands requests to the Node server directly: Fastify must have loaded its plugins first.
  if (env.HTTP_ADAPTER === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();

  const connection = app.get<Connection>(getConnectionToken());
  const server = app.getHttpServer() as App;
  return {
    app,
    server,
    http: () => request(server),
    connection,
    dbName: env.MONGODB_DB_NAME as string,
    secrets: {
      access: env.ACCESS_TOKEN_SECRET ?? secrets.access,
      refresh: env.REFRESH_TOKEN_SECRET ?? secrets.refresh,
    },
    async close() {
      await connection.dropDatabase().catch(() => undefined);
      await app.close();
    },
  };
}

/** Empties every collection, keeping indexes: for a clean slate between tests in one file. */
export async function clearDatabase(testApp: TestApp): Promise<void> {
  const collections = await testApp.connection.db!.collections();
  await Promise.all(collections.map((collection) => collection.deleteMany({})));
}
