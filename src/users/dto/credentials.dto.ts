import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

export class CredentialsDto {
  @ApiProperty({
    description: '3-32 characters of A-Z a-z 0-9 _ . - (unique regardless of case)',
    minLength: 3,
    maxLength: 32,
    pattern: '^[A-Za-z0-9_.-]{3,32}$',
    example: 'alice',
  })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 characters of A-Z a-z 0-9 _ . -' })
  username!: string;

  @ApiProperty({
    description: '8-128 characters, any characters',
    minLength: 8,
    maxLength: 128,
    example: 'correct horse battery staple',
  })
  @IsString()
  @Length(8, 128, { message: 'password must be 8-128 characters' })
  password!: string;
}
