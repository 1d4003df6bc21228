import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppModule } from '../app.module';
import { useApiPrefix } from '../app.setup';
import { createOpenApiDocument } from './openapi-document';

/**
 * Writes the OpenAPI document to the path given (default: openapi.json in the working directory).
 * Run the compiled file, `node dist/openapi/generate-openapi.js`: only `nest build` applies the
 * @nestjs/swagger compiler plugin (nest-cli.json) that completes the DTOs' and routes' metadata.
 *
 * Preview mode builds the module graph without instantiating a provider: no configuration factory,
 * database, Redis or secret is touched, so this runs anywhere, with any environment.
 */
async function generate(outputPath: string): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    useApiPrefix(app);
    const document = createOpenApiDocument(app);
    // Keys in the order Nest emits them, two-space indent and a final newline: stable, reviewable diffs.
    await writeFile(outputPath, `${JSON.stringify(document, null, 2)}\n`);
  } finally {
    await app.close();
  }
}

const outputPath = resolve(process.argv[2] ?? 'openapi.json');
generate(outputPath).then(
  () => console.log(`OpenAPI document written to ${outputPath}`),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
