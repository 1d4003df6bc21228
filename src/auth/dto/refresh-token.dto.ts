import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class RefreshTokenDto {
  @ApiPropertyOptional({
    description: 'For clients without cookies. Omit it when the refreshToken cookie is sent; both at once is a 400.',
    example: '6650f0c2a1b2c3d4e5f60719.0.5m0k1Zr3rJ0b3kq3bq8dX1sQdC0bQk9nq5m6cJ3l2xE',
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refreshToken?: string;
}
