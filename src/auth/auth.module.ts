import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { PassportModule } from '@nestjs/passport';
import { authConfig, type AuthConfig } from '../config';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AccessTokenService } from './access-token.service';
import { AuthCookies } from './auth-cookies';
import { AuthController } from './auth.controller';
import { JwksController } from './jwks.controller';
import { AuthService } from './auth.service';
import { CsrfPolicy } from './csrf.policy';
import { AuthRateLimitGuard } from './guards/auth-rate-limit.guard';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { LoginThrottleModule } from '../login-throttle/login-throttle.module';
import { AUTH_THROTTLER_STORAGE, RateLimitStorageModule } from './rate-limit/rate-limit-storage.module';
import { RolesGuard } from './guards/roles.guard';
import { ACCESS_TOKEN_ALGORITHM, JwtStrategy } from './strategies/jwt.strategy';

@Module({
  imports: [
    UsersModule,
    SessionsModule,
    PassportModule,
    LoginThrottleModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [authConfig.KEY, AUTH_THROTTLER_STORAGE],
      useFactory: (config: AuthConfig, storage: ThrottlerStorage) => ({
        // One window of a minute; AuthRateLimitGuard sets each budget's limit and skips those at 0.
        throttlers: [{ name: 'default', ttl: 60_000, limit: Math.max(1, config.authRateLimitPerMinute) }],
        errorMessage: 'Too many requests, slow down',
        storage,
      }),
    }),
    JwtModule.registerAsync({
      inject: [authConfig.KEY],
      useFactory: (config: AuthConfig) => ({
        secret: config.accessTokenSecret,
        signOptions: { algorithm: ACCESS_TOKEN_ALGORITHM },
        verifyOptions: { algorithms: [ACCESS_TOKEN_ALGORITHM] },
      }),
    }),
  ],
  controllers: [AuthController, JwksController],
  providers: [
    AuthService,
    AccessTokenService,
    AuthCookies,
    CsrfPolicy,
    JwtStrategy,
    // Order matters: rate limit first (bad tokens count too), then authentication, then roles.
    { provide: APP_GUARD, useClass: AuthRateLimitGuard },
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
})
export class AuthModule {}
