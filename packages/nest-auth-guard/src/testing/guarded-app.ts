import fastifyCookie from '@fastify/cookie';
import { Controller, Get } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import cookieParser from 'cookie-parser';
import { Auth, AuthGuardModule, CurrentUser, Public, type AuthGuardOptions, type AuthPrincipal } from '../index';
import type { FakeAuthServer } from './fake-auth-server';

/** Routes for the guard's tests through a real Nest application, one per kind of protection. */
@Controller()
export class RoutesController {
  @Public()
  @Get('open')
  open() {
    return { open: true };
  }

  @Get('undecorated')
  undecorated(@CurrentUser() user: AuthPrincipal) {
    return user;
  }

  @Auth()
  @Get('me')
  me(@CurrentUser() user: AuthPrincipal) {
    return user;
  }

  @Auth('admin')
  @Get('admin')
  admin() {
    return { admin: true };
  }

  @Public()
  @Get('public-with-user')
  publicWithUser(@CurrentUser() user: AuthPrincipal) {
    return user;
  }
}

@Public()
@Controller('public-class')
export class PublicController {
  @Get()
  open() {
    return { open: true };
  }

  @Auth()
  @Get('private')
  private(@CurrentUser() user: AuthPrincipal) {
    return user;
  }
}

@Auth('admin')
@Controller('admin-class')
export class AdminController {
  @Auth('auditor')
  @Get('report')
  report() {
    return { report: true };
  }
}

// Ten heartbeats of the fake within the bound, so that a busy machine does not turn a 200 into a 503.
export const MAX_SILENCE_MS = 500;
export const JWKS_COOLDOWN_MS = 100;

export type Adapter = 'express' | 'fastify';

/** An application of the fixture controllers behind AuthGuardModule, with short timings. */
export async function createApp(server: FakeAuthServer, adapter: Adapter, options: Partial<AuthGuardOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AuthGuardModule.forRoot(
        server.guardOptions({
          maxFeedSilenceMs: MAX_SILENCE_MS,
          feedReconnectDelayMs: 50,
          jwksCooldownMs: JWKS_COOLDOWN_MS,
          ...options,
        }),
      ),
    ],
    controllers: [RoutesController, PublicController, AdminController],
  }).compile();
  if (adapter === 'express') {
    const app = moduleRef.createNestApplication({ logger: false });
    app.use(cookieParser());
    return app.init();
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
  await app.register(fastifyCookie);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
