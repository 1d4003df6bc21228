import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { optionsFromEnvironment, ResourceAppModule } from './resource-app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(ResourceAppModule.register(optionsFromEnvironment(process.env)), {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3100);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  console.log(`Resource service on http://${process.env.HOST ?? '127.0.0.1'}:${port}`);
}

void bootstrap();
