import { ApiProperty } from '@nestjs/swagger';
import type { SessionView } from '../auth.service';

export class SessionResponseDto {
  @ApiProperty({ example: '6650f0c2a1b2c3d4e5f60719' })
  id!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'Login or last refresh' })
  lastUsedAt!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64)' })
  userAgent!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  ip!: string | null;

  @ApiProperty({ description: 'The session of the token that made this request' })
  current!: boolean;
}

export function toSessionResponse({ session, current }: SessionView): SessionResponseDto {
  return {
    id: session._id.toHexString(),
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
    current,
  };
}
