import { Module, ValidationPipe } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { ClockModule } from './common/clock/clock.module';
import { HttpExceptionFilter } from './common/filters/http-exception.filter';
import { FEATURE_CONFIGS } from './config';
import { CryptoModule } from './crypto/crypto.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { HttpPipelineModule } from './common/http/http-pipeline.module';
import { LoggingModule } from './logging/logging.module';
import { RedisModule } from './redis/redis.module';
import { RevocationFeedModule } from './revocation-feed/revocation-feed.module';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      // Each feature's settings derive from one parse of the environment (src/config), made when the
      // app is built rather than when this file is imported; tests provide the settings instead.
      load: FEATURE_CONFIGS.map(({ config }) => config),
      cache: true,
    }),
    ClockModule,
    LoggingModule,
    HttpPipelineModule,
    CryptoModule,
    DatabaseModule,
    RedisModule,
    RevocationFeedModule,
    UsersModule,
    AuthModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
    {
      provide: APP_PIPE,
      useValue: new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
        forbidUnknownValues: true,
        transform: true,
        // Only the documented shapes: no implicit string-to-number or object coercion.
        transformOptions: { enableImplicitConversion: false },
      }),
    },
  ],
})
export class AppModule {}
