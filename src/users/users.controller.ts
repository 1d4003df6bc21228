import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Ip, Patch, UnauthorizedException } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponse, ApiJsonBodyErrorResponses } from '../common/http/api-error-response.decorator';
import { ChangePasswordDto } from './dto/change-password.dto';
import { ApiCrossSiteForbiddenResponse, Auth, CROSS_SITE_REFUSED } from '../access/auth.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { PASSWORD_CHANGE_BUDGET, RateLimitBudget } from '../access/rate-limit-budget.decorator';
import type { AuthenticatedUser } from '../identity/authenticated-user';
import { ROLE_ADMIN } from './schemas/user.schema';
import { UsersService } from './users.service';
import { toUserResponse, UserResponseDto } from './dto/user-response.dto';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly usersService: UsersService) {}

  @Get('me')
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'getCurrentUser', summary: 'The caller' })
  @ApiOkResponse({ description: 'The user the access token belongs to', type: UserResponseDto })
  async me(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    const user = await this.usersService.findById(caller.userId);
    // The session outlived its user (deleted meanwhile): the token no longer names anyone.
    if (!user) throw new UnauthorizedException();
    return toUserResponse(user);
  }

  @Patch('me/password')
  @Auth()
  // Each request costs one or two password hashes: a per-address budget of its own, far below login's.
  @RateLimitBudget(PASSWORD_CHANGE_BUDGET)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'changePassword',
    summary: 'Change the password; every other session is revoked',
    description:
      "The caller's session stays live; every other session of the user gets 401 from now on. Wrong current " +
      'passwords count like failed logins (LOGIN_MAX_FAILURES per username and address).',
  })
  @ApiNoContentResponse({ description: 'Changed' })
  @ApiJsonBodyErrorResponses({
    invalidFields: {
      summary: 'A missing, too short or too long password, or an extra property',
      message: ['currentPassword must be longer than or equal to 1 characters', 'newPassword must be 8-128 characters'],
    },
  })
  @ApiErrorResponse(403, 'The current password is incorrect, or a cross-site cookie request', {
    wrongCurrentPassword: 'Current password is incorrect',
    crossSite: CROSS_SITE_REFUSED,
  })
  @ApiErrorResponse(429, 'Too many requests or wrong current passwords from this address; see Retry-After', {
    throttled: 'Too many failed logins, try again later',
    rateLimited: 'Too many requests, slow down',
  })
  @ApiErrorResponse(503, 'Too many password checks queued on this instance; see Retry-After', {
    busy: 'Server busy, try again shortly',
  })
  async changePassword(
    @CurrentUser() caller: AuthenticatedUser,
    @Body() body: ChangePasswordDto,
    @Ip() clientIp: string,
  ): Promise<void> {
    await this.usersService.changePassword(
      caller.userId,
      caller.sessionId,
      body.currentPassword,
      body.newPassword,
      clientIp ?? null,
    );
  }

  @Delete('me')
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteAccount', summary: 'Delete the account and every session of it' })
  @ApiNoContentResponse({ description: 'Deleted: every token of the account gets 401 from now on' })
  @ApiCrossSiteForbiddenResponse()
  async deleteAccount(@CurrentUser() caller: AuthenticatedUser): Promise<void> {
    await this.usersService.deleteAccount(caller.userId);
  }

  @Get()
  @Auth(ROLE_ADMIN)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'listUsers', summary: 'Every user (administrators only)' })
  @ApiOkResponse({ description: 'Every user, administrators included', type: [UserResponseDto] })
  async list(): Promise<UserResponseDto[]> {
    return (await this.usersService.list()).map(toUserResponse);
  }
}
