import { ApiProperty } from '@nestjs/swagger';

export class CookieTokensResponseDto {
  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType!: 'Bearer';

  @ApiProperty({ description: 'Seconds until the access token expires', example: 900 })
  expiresIn!: number;
}

export class TokenPairResponseDto extends CookieTokensResponseDto {
  @ApiProperty({ description: 'JWT (HS256) carrying sub, sid, jti, iat, exp', example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...' })
  accessToken!: string;

  @ApiProperty({ description: 'Opaque, single-use; exchange it at POST /api/auth/refresh', example: '6650f0c2a1b2c3d4e5f60719.0.5m0k1Zr3rJ0b3kq3bq8dX1sQdC0bQk9nq5m6cJ3l2xE' })
  refreshToken!: string;
}

export class MessageResponseDto {
  @ApiProperty({ example: 'User logged out' })
  message!: string;
}
