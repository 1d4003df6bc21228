import { Module, type DynamicModule } from '@nestjs/common';
import { AuthGuardModule, type AuthGuardOptions } from 'nest-auth-guard';
import { ReportsController } from './reports.controller';

/** A service of another team: every route needs an access token of the auth service unless @Public(). */
@Module({})
export class ResourceAppModule {
  static register(options: AuthGuardOptions): DynamicModule {
    return { module: ResourceAppModule, imports: [AuthGuardModule.forRoot(options)], controllers: [ReportsController] };
  }
}

/** The guard's settings from the environment of this example (see README.md). */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv): AuthGuardOptions {
  const authUrl = (env.AUTH_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  return {
    issuer: env.AUTH_ISSUER ?? 'secure-logout-jwt',
    jwksUrl: `${authUrl}/.well-known/jwks.json`,
    feedUrl: `${authUrl}/api/auth/revocations`,
    feedToken: env.REVOCATION_FEED_TOKEN ?? '',
    maxFeedSilenceMs: env.MAX_FEED_SILENCE_MS ? Number(env.MAX_FEED_SILENCE_MS) : undefined,
  };
}
