import { Controller, Get, HttpCode, HttpStatus, UnauthorizedException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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

  @Get()
  @Auth(ROLE_ADMIN)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'listUsers', summary: 'Every user (administrators only)' })
  @ApiOkResponse({ type: [UserResponseDto] })
  async list(): Promise<UserResponseDto[]> {
    return (await this.usersService.list()).map(toUserResponse);
  }
}
