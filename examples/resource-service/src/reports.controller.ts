import { Controller, Get } from '@nestjs/common';
import { Auth, CurrentUser, Public, type AuthPrincipal } from 'nest-auth-guard';

/** What a resource service answers: the caller's reports, and the same page open to anyone for comparison. */
@Controller()
export class ReportsController {
  /** Any live session of the auth service. */
  @Get('reports')
  @Auth()
  reports(@CurrentUser() user: AuthPrincipal) {
    return { owner: user.id, session: user.sessionId, reports: [] as string[] };
  }

  /** Administrators only: 403 for a valid token without the role. */
  @Get('reports/all')
  @Auth('admin')
  allReports(@CurrentUser() user: AuthPrincipal) {
    return { requestedBy: user.id, reports: [] as string[] };
  }

  /** The same work without the guard: what the guard costs is the difference. */
  @Get('public/reports')
  @Public()
  publicReports() {
    return { owner: null, session: null, reports: [] as string[] };
  }

  @Get('health/live')
  @Public()
  live() {
    return { status: 'ok' };
  }
}
