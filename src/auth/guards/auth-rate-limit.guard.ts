import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerStorage, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { InjectThrottlerOptions, InjectThrottlerStorage } from '@nestjs/throttler';
import { authConfig, type AuthConfig } from '../../config';
import { AuthController } from '../auth.controller';

/**
 * AUTH_RATE_LIMIT requests a minute per client address to /api/auth/*; 0 turns it off. Registered
 * before the JWT guard, so requests with bad tokens count too.
 */
@Injectable()
export class AuthRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(authConfig.KEY) private readonly config: AuthConfig,
  ) {
    super(options, storage, reflector);
  }

  /** One budget per address for all of /api/auth/*, not one per route (the library's default). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `auth:${throttlerName}:${tracker}`;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return this.config.authRateLimitPerMinute === 0 || context.getClass() !== AuthController;
  }
}
