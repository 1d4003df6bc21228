import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorResponseDto } from '../common/http/error-response.dto';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import type { ClientInfo } from '../sessions/sessions.service';
import { CredentialsDto } from '../users/dto/credentials.dto';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { AuthCookies } from './auth-cookies';
import { AuthService, type IssuedTokens } from './auth.service';
import type { AuthenticatedUser } from './authenticated-user';
import { CsrfPolicy } from './csrf.policy';
import { Auth } from './decorators/auth.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { Public } from './decorators/public.decorator';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { SessionResponseDto, toSessionResponse } from './dto/session-response.dto';
import { CookieTokensResponseDto, MessageResponseDto, TokenPairResponseDto } from './dto/token-response.dto';

const NO_STORE = 'no-store';
const MAX_USER_AGENT_LENGTH = 512;

@ApiTags('auth')
@ApiTooManyRequestsResponse({ description: 'Rate limit exceeded; see Retry-After', type: ErrorResponseDto })
@Controller('auth')
export class AuthController {
  constructor(
    private readonly authService: AuthService,
    private readonly authCookies: AuthCookies,
    private readonly csrfPolicy: CsrfPolicy,
  ) {}

  @Post('register')
  @Public()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ operationId: 'register', summary: 'Create an account (roles are always ["user"])' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ description: 'Invalid or unexpected fields', type: ErrorResponseDto })
  @ApiConflictResponse({ description: 'Username already taken (case-insensitive)', type: ErrorResponseDto })
  async register(@Body() body: CredentialsDto): Promise<UserResponseDto> {
    return toUserResponse(await this.authService.register(body.username, body.password));
  }

  @Post('login')
  @Public()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({
    operationId: 'login',
    summary: 'Start a session: the token pair in the body, and both tokens in HttpOnly cookies',
  })
  @ApiOkResponse({ type: TokenPairResponseDto })
  @ApiBadRequestResponse({ description: 'Invalid or unexpected fields', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'Unknown username or wrong password (one answer for both)', type: ErrorResponseDto })
  async login(
    @Body() body: CredentialsDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairResponseDto> {
    const issued = await this.authService.login(body.username, body.password, clientInfo(req));
    this.authCookies.set(res, cookieTokens(issued));
    return tokenPair(issued);
  }

  @Post('refresh')
  @Public()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({
    operationId: 'refresh',
    summary: 'Rotate the refresh token',
    description:
      'From the refreshToken cookie: new cookies are set and the body carries no token. ' +
      'From the body: the new pair is in the body and no cookie is set. Both at once: 400.',
  })
  @ApiExtraModels(TokenPairResponseDto, CookieTokensResponseDto)
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(TokenPairResponseDto) }, { $ref: getSchemaPath(CookieTokensResponseDto) }] },
  })
  @ApiBadRequestResponse({ description: 'Token in both cookie and body, or malformed body', type: ErrorResponseDto })
  @ApiUnauthorizedResponse({ description: 'Missing, invalid, used or revoked refresh token', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Cookie-authenticated request from a foreign origin', type: ErrorResponseDto })
  async refresh(
    @Body() body: RefreshTokenDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairResponseDto | CookieTokensResponseDto> {
    const fromCookie = this.authCookies.readRefreshToken(req);
    const fromBody = body.refreshToken;
    if (fromCookie !== undefined && fromBody !== undefined) {
      throw new BadRequestException('Send the refresh token in the cookie or in the body, not both');
    }
    if (fromCookie === undefined && fromBody === undefined) throw new InvalidTokenException(false);

    if (fromCookie !== undefined) {
      this.csrfPolicy.assertCookieRequestAllowed(req);
      const issued = await this.authService.refresh(fromCookie);
      this.authCookies.set(res, cookieTokens(issued));
      // Script in the page never sees a refresh token: it only lives in the HttpOnly cookie.
      return { tokenType: 'Bearer', expiresIn: issued.expiresIn };
    }
    return tokenPair(await this.authService.refresh(fromBody));
  }

  @Post('logout')
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'logout', summary: "Revoke the caller's session and clear both cookies" })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiForbiddenResponse({ description: 'Cookie-authenticated request from a foreign origin', type: ErrorResponseDto })
  async logout(
    @CurrentUser() caller: AuthenticatedUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageResponseDto> {
    await this.authService.logout(caller);
    this.authCookies.clear(res);
    return { message: 'User logged out' };
  }

  @Post('logout-all')
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'logoutAll', summary: "Revoke every session of the caller (this one included) and clear both cookies" })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiForbiddenResponse({ description: 'Cookie-authenticated request from a foreign origin', type: ErrorResponseDto })
  async logoutAll(
    @CurrentUser() caller: AuthenticatedUser,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageResponseDto> {
    await this.authService.logoutAll(caller);
    this.authCookies.clear(res);
    return { message: 'Logged out of all sessions' };
  }

  @Get('sessions')
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'listSessions', summary: "The caller's live sessions, newest first" })
  @ApiOkResponse({ type: [SessionResponseDto] })
  async sessions(@CurrentUser() caller: AuthenticatedUser): Promise<SessionResponseDto[]> {
    return (await this.authService.listSessions(caller)).map(toSessionResponse);
  }

  @Delete('sessions/:id')
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'revokeSession', summary: 'Revoke one of the caller\'s sessions (sign out a device)' })
  @ApiNoContentResponse({ description: 'Revoked: its tokens get 401 from now on' })
  @ApiNotFoundResponse({ description: 'No live session of the caller has this id', type: ErrorResponseDto })
  @ApiForbiddenResponse({ description: 'Cookie-authenticated request from a foreign origin', type: ErrorResponseDto })
  async revokeSession(@CurrentUser() caller: AuthenticatedUser, @Param('id') id: string): Promise<void> {
    await this.authService.revokeSession(caller, id);
  }

  @Get('verify')
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'verify',
    summary: "Forward-auth for reverse proxies: 204 with the caller's identity in headers",
  })
  @ApiNoContentResponse({
    description: 'The token belongs to a live session',
    headers: {
      'X-User-Id': { description: 'User id', schema: { type: 'string' } },
      'X-User-Roles': { description: 'Comma-separated roles', schema: { type: 'string' } },
      'X-Session-Id': { description: 'Session id', schema: { type: 'string' } },
    },
  })
  verify(@CurrentUser() caller: AuthenticatedUser, @Res({ passthrough: true }) res: Response): void {
    res.setHeader('X-User-Id', caller.userId);
    res.setHeader('X-User-Roles', caller.roles.join(','));
    res.setHeader('X-Session-Id', caller.sessionId);
  }
}

function clientInfo(req: Request): ClientInfo {
  const userAgent = req.headers['user-agent'];
  return { userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null, ip: req.ip ?? null };
}

function cookieTokens(issued: IssuedTokens) {
  return {
    accessToken: issued.accessToken,
    accessTokenTtlMs: issued.expiresIn * 1000,
    refreshToken: issued.refreshToken,
    refreshTokenTtlMs: Math.max(0, issued.refreshTokenExpiresAt.getTime() - Date.now()),
  };
}

function tokenPair(issued: IssuedTokens): TokenPairResponseDto {
  return {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    tokenType: 'Bearer',
    expiresIn: issued.expiresIn,
  };
}
