import { ApiProperty } from '@nestjs/swagger';
import type { SessionView } from '../auth.service';

export class SessionResponseDto {
  @ApiProperty({ description: 'Session id (the `sid` of its access tokens)', example: '6650f0c2a1b2c3d4e5f60719' })
  id!: string;

  @ApiProperty({ type: String, format: 'date-time', description: 'Login', example: '2026-01-31T12:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'Login or last refresh',
    example: '2026-01-31T12:45:00.000Z',
  })
  lastUsedAt!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'User-Agent of the login, if sent',
    example: 'Mozilla/5.0 (X11; Linux x86_64)',
  })
  userAgent!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Client address of the login', example: '203.0.113.7' })
  ip!: string | null;

  @ApiProperty({ description: 'The session of the token that made this request', example: true })
  current!: boolean;
}

export function toSessionResponse({ session, current }: SessionView): SessionResponseDto {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: session.lastUsedAt.toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
    current,
  };
}
