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
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Clock } from '../common/clock/clock';
import type { HttpRequest } from '../common/http/http-request';
import { ResponseWriter, type HttpResponse } from '../common/http/response-writer';
import {
  ApiDatabaseUnavailableResponse,
  ApiErrorResponse,
  ApiJsonBodyErrorResponses,
} from '../common/http/api-error-response.decorator';
import { InvalidTokenException } from '../common/exceptions/invalid-token.exception';
import type { ClientInfo } from '../sessions/sessions.service';
import { CredentialsDto } from '../users/dto/credentials.dto';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import { AuthCookies, DUPLICATED_TOKEN_COOKIE } from './auth-cookies';
import { AuthService, type IssuedTokens } from './auth.service';
import type { AuthenticatedUser } from '../identity/authenticated-user';
import { CsrfPolicy } from './csrf.policy';
import { ApiCrossSiteForbiddenResponse, Auth } from '../access/auth.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { ForwardAuth } from '../access/forward-auth.decorator';
import { Public } from '../access/public.decorator';
import { AUTH_BUDGET, RateLimitBudget, VERIFY_BUDGET } from '../access/rate-limit-budget.decorator';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { SessionResponseDto, toSessionResponse } from './dto/session-response.dto';
import { CookieTokensResponseDto, MessageResponseDto, TokenPairResponseDto } from './dto/token-response.dto';
import {
  ApiHashingBusyResponse,
  ApiRateLimitedResponse,
  ApiVerifyOperation,
  ApiRefreshOkResponse,
  CLEARED_COOKIE_HEADERS,
  RATE_LIMITED,
  TOKEN_COOKIE_HEADERS,
} from './auth.openapi';

const NO_STORE = 'no-store';
const MAX_USER_AGENT_LENGTH = 512;

@ApiTags('auth')
@RateLimitBudget(AUTH_BUDGET)
@Controller('auth')
export class AuthController {
  constructor(
    private readonly authService: AuthService,
    private readonly authCookies: AuthCookies,
    private readonly csrfPolicy: CsrfPolicy,
    private readonly responses: ResponseWriter,
    private readonly clock: Clock,
  ) {}

  @Post('register')
  @ApiRateLimitedResponse()
  @Public()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    operationId: 'register',
    summary: 'Create an account',
    description: 'The new user\'s roles are always `["user"]`. Registering does not log in: call `login` next.',
  })
  @ApiCreatedResponse({ description: 'The new user', type: UserResponseDto })
  @ApiJsonBodyErrorResponses({
    invalidFields: {
      summary: 'A username, password or extra property the contract does not allow',
      message: [
        'property roles should not exist',
        'username must be 3-32 characters of A-Z a-z 0-9 _ . -',
        'password must be 8-128 characters',
      ],
    },
  })
  @ApiErrorResponse(409, 'The username is taken (case-insensitive)', { usernameTaken: 'Username is already taken' })
  @ApiHashingBusyResponse()
  async register(@Body() body: CredentialsDto): Promise<UserResponseDto> {
    return toUserResponse(await this.authService.register(body.username, body.password));
  }

  @Post('login')
  @Public()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({
    operationId: 'login',
    summary: 'Start a session',
    description:
      'Answers with the token pair in the body and sets both tokens as HttpOnly cookies: REST clients use the ' +
      'body, browsers the cookies. An unknown username and a wrong password get the same 401.',
  })
  @ApiOkResponse({ description: 'A new session', type: TokenPairResponseDto, headers: TOKEN_COOKIE_HEADERS })
  @ApiJsonBodyErrorResponses({
    invalidFields: {
      summary: 'A missing, mistyped or extra property',
      message: ['username must be 3-32 characters of A-Z a-z 0-9 _ . -', 'username must be a string'],
    },
  })
  @ApiErrorResponse(401, 'Unknown username or wrong password (one answer for both)', {
    loginFailed: 'Invalid username or password',
  })
  @ApiErrorResponse(429, 'Too many requests from this address, or too many failed logins; see Retry-After', {
    rateLimited: RATE_LIMITED,
    loginThrottled: {
      summary: 'LOGIN_MAX_FAILURES failed logins for this username from this address within LOGIN_FAILURE_WINDOW',
      message: 'Too many failed logins, try again later',
    },
  })
  @ApiHashingBusyResponse()
  async login(
    @Body() body: CredentialsDto,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpResponse,
  ): Promise<TokenPairResponseDto> {
    const issued = await this.authService.login(body.username, body.password, clientInfo(req));
    this.authCookies.set(res, cookieTokens(issued, this.clock.now()));
    return tokenPair(issued);
  }

  @Post('refresh')
  @ApiRateLimitedResponse()
  @Public()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({
    operationId: 'refresh',
    summary: 'Rotate the refresh token',
    description:
      'Send the refresh token in the `refreshToken` cookie (browsers) or in the body (other clients), not both (400). ' +
      'From the cookie: new cookies are set and the body carries no token (`CookieTokensResponseDto`). ' +
      'From the body: the new pair is in the body (`TokenPairResponseDto`) and no cookie is set.\n\n' +
      'The presented token becomes invalid. Presenting the token rotated last again within REFRESH_REUSE_GRACE ' +
      'answers with the same successor; presenting any older one is reuse: 401, and the whole session is revoked.',
  })
  @ApiBody({
    type: RefreshTokenDto,
    required: false,
    description: 'Omit the body, or send `{}`, when the cookie carries the token',
  })
  @ApiRefreshOkResponse()
  @ApiJsonBodyErrorResponses({
    bothCookieAndBody: 'Send the refresh token in the cookie or in the body, not both',
    duplicatedCookie: { summary: 'A token cookie sent twice (cookie tossing)', message: DUPLICATED_TOKEN_COOKIE },
    invalidFields: { summary: 'A mistyped or extra property', message: ['refreshToken must be a string'] },
  })
  @ApiErrorResponse(401, 'No refresh token, or an invalid, reused, expired or revoked one', {
    unauthorized: 'Unauthorized',
  })
  @ApiCrossSiteForbiddenResponse()
  @ApiDatabaseUnavailableResponse()
  async refresh(
    @Body() body: RefreshTokenDto,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpResponse,
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
      this.authCookies.set(res, cookieTokens(issued, this.clock.now()));
      // Script in the page never sees a refresh token: it only lives in the HttpOnly cookie.
      return { tokenType: 'Bearer', expiresIn: issued.expiresIn };
    }
    return tokenPair(await this.authService.refresh(fromBody));
  }

  @Post('logout')
  @ApiRateLimitedResponse()
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'logout',
    summary: "Revoke the caller's session and clear both cookies",
    description:
      'From the moment this answers, the access and refresh tokens of this session get 401 on every instance, ' +
      'although they have not expired. Other sessions of the user stay live.',
  })
  @ApiOkResponse({
    description: 'Logged out',
    type: MessageResponseDto,
    headers: CLEARED_COOKIE_HEADERS,
    example: { message: 'User logged out' },
  })
  @ApiCrossSiteForbiddenResponse()
  async logout(
    @CurrentUser() caller: AuthenticatedUser,
    @Res({ passthrough: true }) res: HttpResponse,
  ): Promise<MessageResponseDto> {
    await this.authService.logout(caller);
    this.authCookies.clear(res);
    return { message: 'User logged out' };
  }

  @Post('logout-all')
  @ApiRateLimitedResponse()
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'logoutAll',
    summary: 'Revoke every session of the caller (this one included) and clear both cookies',
  })
  @ApiOkResponse({
    description: 'Every session revoked',
    type: MessageResponseDto,
    headers: CLEARED_COOKIE_HEADERS,
    example: { message: 'Logged out of all sessions' },
  })
  @ApiCrossSiteForbiddenResponse()
  async logoutAll(
    @CurrentUser() caller: AuthenticatedUser,
    @Res({ passthrough: true }) res: HttpResponse,
  ): Promise<MessageResponseDto> {
    await this.authService.logoutAll(caller);
    this.authCookies.clear(res);
    return { message: 'Logged out of all sessions' };
  }

  @Get('sessions')
  @ApiRateLimitedResponse()
  @Auth()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'listSessions', summary: "The caller's live sessions, newest first" })
  @ApiOkResponse({
    description: 'Live sessions only: revoked and expired ones are left out',
    type: [SessionResponseDto],
  })
  async sessions(@CurrentUser() caller: AuthenticatedUser): Promise<SessionResponseDto[]> {
    return (await this.authService.listSessions(caller)).map(toSessionResponse);
  }

  @Delete('sessions/:id')
  @ApiRateLimitedResponse()
  @Auth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'revokeSession', summary: "Revoke one of the caller's sessions (sign out a device)" })
  @ApiParam({ name: 'id', description: 'A session id from `listSessions`', example: '6650f0c2a1b2c3d4e5f60719' })
  @ApiNoContentResponse({ description: 'Revoked: its tokens get 401 from now on' })
  @ApiErrorResponse(404, "No live session of the caller has this id (another user's session included)", {
    notFound: 'Session not found',
  })
  @ApiCrossSiteForbiddenResponse()
  async revokeSession(@CurrentUser() caller: AuthenticatedUser, @Param('id') id: string): Promise<void> {
    await this.authService.revokeSession(caller, id);
  }

  @Get('verify')
  @Auth()
  @ForwardAuth()
  // A proxy calls this for every request it passes on: in AUTH_RATE_LIMIT, browsing would block logout.
  @RateLimitBudget(VERIFY_BUDGET)
  @HttpCode(HttpStatus.NO_CONTENT)
  // A proxy that cached this answer would let a revoked session through.
  @Header('Cache-Control', NO_STORE)
  @ApiVerifyOperation()
  verify(@CurrentUser() caller: AuthenticatedUser, @Res({ passthrough: true }) res: HttpResponse): void {
    this.responses.setHeader(res, 'X-User-Id', caller.userId);
    this.responses.setHeader(res, 'X-User-Roles', caller.roles.join(','));
    this.responses.setHeader(res, 'X-Session-Id', caller.sessionId);
  }
}

function clientInfo(req: HttpRequest): ClientInfo {
  const userAgent = req.headers['user-agent'];
  return { userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null, ip: req.ip ?? null };
}

/** `now`: the Clock's time, in which the session's end is counted (Max-Age is what is left of it). */
function cookieTokens(issued: IssuedTokens, now: number) {
  return {
    accessToken: issued.accessToken,
    accessTokenTtlMs: issued.expiresIn * 1000,
    refreshToken: issued.refreshToken,
    refreshTokenTtlMs: Math.max(0, issued.refreshTokenExpiresAt.getTime() - now),
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
