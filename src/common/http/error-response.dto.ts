import { ApiProperty } from '@nestjs/swagger';

/** The body of every error answer, as HttpExceptionFilter writes it. */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', description: 'The HTTP status code, repeated', example: 401 })
  statusCode!: number;

  @ApiProperty({
    description: 'What went wrong, for people: one message, or one per rejected field (400 validation errors)',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'Unauthorized',
  })
  message!: string | string[];

  @ApiProperty({ description: "The status code's standard reason phrase", example: 'Unauthorized' })
  error!: string;
}
