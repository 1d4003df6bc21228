import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { EXAMPLE_REFRESH_TOKEN } from './token-response.dto';

export class RefreshTokenDto {
  @ApiPropertyOptional({
    description: 'For clients without cookies. Omit it when the refreshToken cookie is sent; both at once is a 400.',
    example: EXAMPLE_REFRESH_TOKEN,
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  refreshToken?: string;
}
