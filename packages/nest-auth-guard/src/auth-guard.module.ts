import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokenVerifier } from './access-token.verifier';
import { AuthGuard } from './auth.guard';
import { AUTH_GUARD_OPTIONS, resolveAuthGuardOptions, type AuthGuardOptions } from './auth-guard.options';
import { RevocationFeedClient } from './revocation-feed.client';

export interface AuthGuardModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  /** Providers handed to useFactory, in order (e.g. ConfigService). */
  inject?: FactoryProvider['inject'];
  useFactory: (...dependencies: never[]) => AuthGuardOptions | Promise<AuthGuardOptions>;
}

/**
 * Protects every route of the application (APP_GUARD) with the auth service's access tokens, verified
 * locally, and its revocation feed. Global: the verifier and the feed client (for health checks) can be
 * injected anywhere.
 */
@Module({})
export class AuthGuardModule {
  static forRoot(options: AuthGuardOptions): DynamicModule {
    // Resolved here, so that a bad configuration fails at startup with every problem listed.
    return AuthGuardModule.build([{ provide: AUTH_GUARD_OPTIONS, useValue: resolveAuthGuardOptions(options) }]);
  }

  static forRootAsync(options: AuthGuardModuleAsyncOptions): DynamicModule {
    const factory = options.useFactory as (...dependencies: unknown[]) => AuthGuardOptions | Promise<AuthGuardOptions>;
    const optionsProvider: Provider = {
      provide: AUTH_GUARD_OPTIONS,
      inject: options.inject ?? [],
      useFactory: async (...dependencies: unknown[]) => resolveAuthGuardOptions(await factory(...dependencies)),
    };
    return AuthGuardModule.build([optionsProvider], options.imports ?? []);
  }

  private static build(optionsProviders: Provider[], imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AuthGuardModule,
      global: true,
      imports,
      providers: [
        ...optionsProviders,
        AccessTokenVerifier,
        RevocationFeedClient,
        AuthGuard,
        { provide: APP_GUARD, useExisting: AuthGuard },
      ],
      exports: [AUTH_GUARD_OPTIONS, AccessTokenVerifier, RevocationFeedClient],
    };
  }
}
