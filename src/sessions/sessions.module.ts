import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Clock } from '../common/clock/clock';
import { authConfig, type AuthConfig } from '../config';
import { REDIS_CLIENT, type RedisClient } from '../redis/redis.module';
import { RefreshTokenCodec } from './refresh-token.codec';
import { RefreshRotation, RefreshRotationSchema } from './schemas/refresh-rotation.schema';
import { SessionRevocation, SessionRevocationSchema } from './schemas/session-revocation.schema';
import { Session, SessionSchema } from './schemas/session.schema';
import { RotationClaimsRepository } from './rotation-claims.repository';
import { SessionLedger } from './session-ledger';
import { SessionRevocationsRepository } from './session-revocations.repository';
import { SessionsPurge } from './sessions-purge';
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
    RotationClaimsRepository,
    SessionRevocationsRepository,
    SessionLedger,
    SessionsPurge,
    SessionsService,
    RefreshTokenCodec,
    {
      provide: SessionStateStore,
      inject: [REDIS_CLIENT, SessionLedger, SessionRevocationsRepository, authConfig.KEY, Clock],
      useFactory: (
        redis: RedisClient,
        ledger: SessionLedger,
        revocations: SessionRevocationsRepository,
        config: AuthConfig,
        clock: Clock,
      ): SessionStateStore =>
        redis
          ? new RedisSessionState(
              redis,
              config.accessTokenTtlMs,
              // Revocations are recorded in the Clock's time: the window of minutes is counted in it too.
              (since) => revocations.listIdsRevokedSince(since, new Date(clock.now())),
              clock,
            )
          : new DatabaseSessionState(ledger),
    },
  ],
  exports: [SessionsService],
})
export class SessionsModule {}
