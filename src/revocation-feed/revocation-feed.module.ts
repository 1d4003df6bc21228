import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module';
import { RevocationFeedController } from './revocation-feed.controller';
import { RevocationFeed } from './revocation-feed.service';

@Module({
  imports: [SessionsModule],
  controllers: [RevocationFeedController],
  providers: [RevocationFeed],
  exports: [RevocationFeed],
})
export class RevocationFeedModule {}
