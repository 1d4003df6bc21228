import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class ChangePasswordDto {
  @ApiProperty({
    description: 'The password in use now',
    minLength: 1,
    maxLength: 128,
    example: 'correct horse battery staple',
  })
  @IsString()
  @Length(1, 128)
  currentPassword!: string;

  @ApiProperty({
    description: '8-128 characters, any characters',
    minLength: 8,
    maxLength: 128,
    example: 'a new and longer passphrase',
  })
  @IsString()
  @Length(8, 128, { message: 'newPassword must be 8-128 characters' })
  newPassword!: string;
}
