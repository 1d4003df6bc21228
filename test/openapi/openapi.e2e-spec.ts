import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { AppModule } from '../../src/app.module';
import { useApiPrefix } from '../../src/app.setup';
import { API_VERSION, createOpenApiDocument } from '../../src/openapi/openapi-document';
import { uniqueUsername, PASSWORD } from '../support/http';
import { builtDist } from '../support/nest-build';
import { expectSuccess, runNode } from '../support/run-node';
import { createTestApp, type TestApp } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');
const COMMITTED = join(ROOT, 'openapi.json');
const WORK_DIR = join(ROOT, 'test-output', 'openapi');
const bin = (path: string) => join(ROOT, 'node_modules', path);

/** What `npm run openapi` runs; the staleness test below performs the same two steps. */
const OPENAPI_SCRIPT = 'nest build && node dist/openapi/generate-openapi.js';

/** The first line where two texts differ, for a readable failure. */
function firstDifference(generated: string, committed: string): string {
  const [ours, theirs] = [generated.split('\n'), committed.split('\n')];
  const line = ours.findIndex((text, index) => text !== theirs[index]);
  const at = line === -1 ? ours.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(theirs[at])}, generated ${JSON.stringify(ours[at])}`;
}

type Json = Record<string, unknown>;
/** walkThrough() of typed-client.walkthrough.ts, as far as this file needs to know. */
type WalkThrough = (
  baseUrl: string,
  credentials: { username: string; password: string },
) => Promise<Record<string, unknown>>;
interface OpenApi {
  info: { version: string; description: string };
  paths: Record<
    string,
    Record<string, { operationId?: string; tags?: string[]; summary?: string; responses: Record<string, Json> }>
  >;
  components: { schemas: Record<string, { properties?: Record<string, Json> }> };
}

describe('openapi.json', () => {
  let committedText: string;
  let committed: OpenApi;
  beforeAll(async () => {
    committedText = await readFile(COMMITTED, 'utf8');
    committed = JSON.parse(committedText) as OpenApi;
    await mkdir(WORK_DIR, { recursive: true });
  });

  // Staleness. The document depends on the @nestjs/swagger compiler plugin (nest-cli.json), which only
  // `nest build` applies, not the tests' compiler (SWC). So this test does not rebuild the document
  // in-process: it runs the generator of the run's shared `nest build` of src/ (test/support/nest-build.ts,
  // with the same nest-cli.json plugin options and tsconfig.build.json as `npm run openapi`, only another
  // output directory and no second type-check, which changes nothing emitted), so that dist/ and the
  // committed file are left alone. The two cannot drift.
  it('is what `npm run openapi` generates now', async () => {
    const scripts = (
      JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.openapi).toBe(OPENAPI_SCRIPT);

    const outDir = await builtDist();
    const workDir = await mkdtemp(join(WORK_DIR, 'generated-'));
    try {
      // No NODE_ENV, secret, database or Redis: preview mode instantiates no provider.
      const generatedPath = join(workDir, 'openapi.json');
      const generate = await runNode(join(outDir, 'openapi', 'generate-openapi.js'), [generatedPath], {
        PATH: process.env.PATH,
      });
      expectSuccess(generate, 'the generator');

      const generated = await readFile(generatedPath, 'utf8');
      if (generated !== committedText) {
        throw new Error(
          `openapi.json is stale: run \`npm run openapi\` and commit the result (${firstDifference(generated, committedText)})`,
        );
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('passes redocly lint (recommended rules) without errors', async () => {
    const lint = await runNode(
      bin('@redocly/cli/bin/cli.js'),
      ['lint', 'openapi.json', '--config', 'redocly.yaml', '--format=json'],
      {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
      },
    );
    const report = JSON.parse(lint.stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect({ errors: report.totals.errors, problems }).toEqual({ errors: 0, problems: expect.any(Array) });
  });

  it('gives every operation an operationId, a tag, a summary and a documented 4xx or 5xx with examples', () => {
    const incomplete: string[] = [];
    for (const [path, operations] of Object.entries(committed.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (!operation.operationId) incomplete.push(`${name}: no operationId`);
        if (!operation.tags?.length) incomplete.push(`${name}: no tag`);
        if (!operation.summary) incomplete.push(`${name}: no summary`);
        const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
        if (errors.length === 0 && path !== '/health/live') incomplete.push(`${name}: no error response`);
        for (const [status, response] of errors) {
          const media = (response.content as Record<string, Json> | undefined)?.['application/json'];
          if ((media?.schema as Json | undefined)?.$ref !== '#/components/schemas/ErrorResponseDto')
            incomplete.push(`${name} ${status}: not ErrorResponseDto`);
          if (!media?.examples) incomplete.push(`${name} ${status}: no examples`);
        }
      }
    }
    expect(incomplete).toEqual([]);
  });

  it('gives every schema property an example (or a reference to a schema that has them)', () => {
    const missing = Object.entries(committed.components.schemas).flatMap(([schema, { properties = {} }]) =>
      Object.entries(properties)
        .filter(
          ([, property]) =>
            property.example === undefined && property.$ref === undefined && property.allOf === undefined,
        )
        .map(([name]) => `${schema}.${name}`),
    );
    expect(missing).toEqual([]);
  });

  it("carries package.json's version and explains the auth flow", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(API_VERSION).toBe(version);
    expect(committed.info.version).toBe(version);
    for (const step of [
      '/api/auth/register',
      '/api/auth/login',
      'Authorization: Bearer',
      '/api/auth/refresh',
      '/api/auth/logout',
    ]) {
      expect(committed.info.description).toContain(step);
    }
  });

  describe('against the running application', () => {
    let t: TestApp;
    let baseUrl: string;
    beforeAll(async () => {
      t = await createTestApp({}, 'openapi');
      await t.app.listen(0, '127.0.0.1');
      baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await t.close();
    });

    // Both documents are built from the tests' compilation (SWC) here, so the plugin plays no part: this checks
    // that the generator's preview-mode app documents exactly what the running app serves at /docs-json.
    it('generates in preview mode the document that /docs-json serves', async () => {
      const preview = await NestFactory.create<NestExpressApplication>(AppModule, {
        preview: true,
        logger: false,
        abortOnError: false,
      });
      try {
        useApiPrefix(preview);
        const served = await t.http().get('/docs-json');
        expect(served.status).toBe(200);
        expect(served.body).toEqual(JSON.parse(JSON.stringify(createOpenApiDocument(preview))));
      } finally {
        await preview.close();
      }
    });

    // The walk-through is typed only by types generated from the committed document: it must type-check
    // (a wrong field name does not), and then it must work against the real server.
    it('types a client with openapi-typescript that type-checks and walks register, login, me, logout', async () => {
      const generate = await runNode(bin('openapi-typescript/bin/cli.js'), [
        'openapi.json',
        '-o',
        join(WORK_DIR, 'schema.d.ts'),
      ]);
      expectSuccess(generate, 'openapi-typescript');
      const typecheck = await runNode(bin('typescript/bin/tsc'), [
        '-p',
        join(ROOT, 'test', 'openapi', 'tsconfig.walkthrough.json'),
      ]);
      expectSuccess(typecheck, 'tsc -p test/openapi/tsconfig.walkthrough.json');

      // Loaded by a computed name: a literal import would pull the walk-through, and with it the generated
      // types that do not exist yet, into `tsc -p tsconfig.json`, which npm test runs before Jest.
      const walkThroughModule = './typed-client.walkthrough';
      const { walkThrough } = (await import(walkThroughModule)) as { walkThrough: WalkThrough };
      const username = uniqueUsername('openapi');
      const result = await walkThrough(baseUrl, { username, password: PASSWORD });

      expect(result.registered).toEqual({
        id: expect.any(String),
        username,
        roles: ['user'],
        createdAt: expect.any(String),
      });
      expect(result.tokens).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: expect.any(Number),
      });
      expect(result.me).toEqual(result.registered);
      expect(result.logout).toEqual({ message: 'User logged out' });
      expect(result.meAfterLogout).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
    });
  });
});
