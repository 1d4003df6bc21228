import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Ip, Patch, UnauthorizedException } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/http/error-response.dto';
import { ChangePasswordDto } from './dto/change-password.dto';
import { Auth } from '../auth/decorators/auth.decorator';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import type { AuthenticatedUser } from '../auth/authenticated-user';
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
  @ApiOkResponse({ type: UserResponseDto })
  async me(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    const user = await this.usersService.findById(caller.userId);
    // The session outlived its user (deleted meanwhile): the token no longer names anyone.
    if (!user) throw new UnauthorizedException();
    return toUserResponse(user);
  }

  @Patch('me/password')
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'changePassword', summary: 'Change the password; every other session is revoked' })
  @ApiNoContentResponse({ description: 'Changed' })
  @ApiBadRequestResponse({ description: 'Invalid or unexpected fields', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Current password is incorrect, or a cross-site cookie request', type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ description: 'Too many wrong current passwords from this address; see Retry-After', type: ErrorResponseDto })
  async changePassword(
    @CurrentUser() caller: AuthenticatedUser,
    @Body() body: ChangePasswordDto,
    @Ip() clientIp: string,
  ): Promise<void> {
    await this.usersService.changePassword(caller.userId, caller.sessionId, body.currentPassword, body.newPassword, clientIp ?? null);
  }

  @Delete('me')
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteAccount', summary: 'Delete the account and every session of it' })
  @ApiNoContentResponse({ description: 'Deleted: every token of the account gets 401 from now on' })
  @ApiForbiddenResponse({ description: 'Cookie-authenticated request from a foreign origin', type: ErrorResponseDto })
  async deleteAccount(@CurrentUser() caller: AuthenticatedUser): Promise<void> {
    await this.usersService.deleteAccount(caller.userId);
  }

  @Get()
  @Auth(ROLE_ADMIN)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'listUsers', summary: 'Every user (administrators only)' })
  @ApiOkResponse({ type: [UserResponseDto] })
  async list(): Promise<UserResponseDto[]> {
    return (await this.usersService.list()).map(toUserResponse);
  }
}
