import { Controller, Get, Module } from '@nestjs/common';
import { Auth, CurrentUser, Public, type AuthenticatedUser } from '../../src/access';

/** What a team adopting the service writes for its own routes: the README shows this module. */
@Controller('reports')
class ReportsController {
  @Public()
  @Get('status')
  status() {
    return { status: 'up' };
  }

  @Auth()
  @Get('mine')
  mine(@CurrentUser() user: AuthenticatedUser) {
    return { owner: user.userId, session: user.sessionId };
  }

  @Auth('admin')
  @Get('all')
  all() {
    return { reports: [] };
  }
}

@Module({ controllers: [ReportsController] })
export class ReportsModule {}
