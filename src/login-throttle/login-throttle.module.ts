import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { REDIS_CLIENT, type RedisClient } from '../redis/redis.module';
import { DatabaseLoginFailureStore } from './database-login-failure.store';
import { LoginFailure, LoginFailureSchema } from './login-failure.schema';
import { LoginFailureStore } from './login-failure.store';
import { LoginThrottleService } from './login-throttle.service';
import { RedisLoginFailureStore } from './redis-login-failure.store';

/** Password guessing brakes, shared by login and password change. */
@Module({
  imports: [MongooseModule.forFeature([{ name: LoginFailure.name, schema: LoginFailureSchema }])],
  providers: [
    DatabaseLoginFailureStore,
    {
      provide: LoginFailureStore,
      inject: [REDIS_CLIENT, DatabaseLoginFailureStore],
      useFactory: (redis: RedisClient, database: DatabaseLoginFailureStore): LoginFailureStore =>
        redis ? new RedisLoginFailureStore(redis) : database,
    },
    LoginThrottleService,
  ],
  exports: [LoginThrottleService],
})
export class LoginThrottleModule {}
