import { ApiProperty } from '@nestjs/swagger';

export const EXAMPLE_ACCESS_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2NjUwZjBjMmExYjJjM2Q0ZTVmNjA3MTgiLCJzaWQiOiI2NjUwZjBjMmExYjJjM2Q0ZTVmNjA3MTkiLCJqdGkiOiJhYjEyIiwicm9sZXMiOlsidXNlciJdLCJpYXQiOjE3Njk4NjA4MDAsImV4cCI6MTc2OTg2MTcwMH0.c2lnbmF0dXJl';
export const EXAMPLE_REFRESH_TOKEN = '6650f0c2a1b2c3d4e5f60719.0.5m0k1Zr3rJ0b3kq3bq8dX1sQdC0bQk9nq5m6cJ3l2xE';

/** A refresh that came with the refreshToken cookie: the new tokens are only in cookies. */
export class CookieTokensResponseDto {
  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType!: 'Bearer';

  @ApiProperty({ type: 'integer', description: 'Seconds until the access token expires', example: 900 })
  expiresIn!: number;
}

export class TokenPairResponseDto extends CookieTokensResponseDto {
  @ApiProperty({ description: 'JWT (HS256) carrying sub, sid, jti, iat, exp and roles', example: EXAMPLE_ACCESS_TOKEN })
  accessToken!: string;

  @ApiProperty({
    description: 'Opaque and single-use; exchange it at POST /api/auth/refresh',
    example: EXAMPLE_REFRESH_TOKEN,
  })
  refreshToken!: string;
}

export class MessageResponseDto {
  @ApiProperty({ example: 'User logged out' })
  message!: string;
}
