import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { authConfig, type AuthConfig } from '../config';
import { REDIS_CLIENT, type RedisClient } from '../redis/redis.module';
import { RefreshTokenCodec } from './refresh-token.codec';
import { RefreshRotation, RefreshRotationSchema } from './schemas/refresh-rotation.schema';
import { SessionRevocation, SessionRevocationSchema } from './schemas/session-revocation.schema';
import { Session, SessionSchema } from './schemas/session.schema';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';
import { DatabaseSessionState } from './state/database-session-state';
import { RedisSessionState } from './state/redis-session-state';
import { SessionStateStore } from './state/session-state.store';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Session.name, schema: SessionSchema },
      { name: RefreshRotation.name, schema: RefreshRotationSchema },
      { name: SessionRevocation.name, schema: SessionRevocationSchema },
    ]),
  ],
  providers: [
    SessionsRepository,
    SessionsService,
    RefreshTokenCodec,
    {
      provide: SessionStateStore,
      inject: [REDIS_CLIENT, SessionsRepository, authConfig.KEY],
      useFactory: (redis: RedisClient, repository: SessionsRepository, config: AuthConfig): SessionStateStore =>
        redis
          ? new RedisSessionState(redis, config.accessTokenTtlMs, (since) => repository.listIdsRevokedSince(since))
          : new DatabaseSessionState(repository),
    },
  ],
  exports: [SessionsService],
})
export class SessionsModule {}
