import { ApiProperty } from '@nestjs/swagger';
import type { UserAccount } from '../user-account';

export class UserResponseDto {
  @ApiProperty({ example: '6650f0c2a1b2c3d4e5f60718' })
  id!: string;

  @ApiProperty({ description: 'As typed at registration (uniqueness ignores case)', example: 'alice' })
  username!: string;

  @ApiProperty({
    type: [String],
    description: 'A new user has ["user"]; administrators also "admin"',
    example: ['user'],
  })
  roles!: string[];

  @ApiProperty({ type: String, format: 'date-time', example: '2026-01-31T12:00:00.000Z' })
  createdAt!: string;
}

/** The only way a user leaves the API: never a hash, a token or a Mongoose document. */
export function toUserResponse(user: UserAccount): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    roles: [...user.roles],
    createdAt: user.createdAt.toISOString(),
  };
}
