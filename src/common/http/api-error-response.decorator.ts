import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type ApiResponseExamples, type HeadersObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { ErrorResponseDto } from './error-response.dto';

/** An example's `message`, or the message with a summary when the message alone does not say when it happens. */
export type ErrorExample = string | string[] | { summary: string; message: string | string[] };

/** Headers the exception filter adds to some statuses (see HttpExceptionFilter). */
const ERROR_HEADERS: Partial<Record<number, HeadersObject>> = {
  401: {
    'WWW-Authenticate': {
      description: '`Bearer`, or `Bearer error="invalid_token"` when a token was presented (RFC 6750)',
      schema: { type: 'string', example: 'Bearer error="invalid_token"' },
    },
  },
  429: {
    'Retry-After': {
      description: 'Seconds to wait before trying again',
      schema: { type: 'integer', example: 60 },
    },
  },
  503: {
    'Retry-After': {
      description: 'Seconds after which the service may be available again',
      schema: { type: 'integer', example: 1 },
    },
  },
};

/**
 * Documents an error status with the body HttpExceptionFilter writes for it (ErrorResponseDto) and one
 * named example per message the route can answer with. `error` is the status's reason phrase, as in
 * the filter, so examples cannot disagree with real answers.
 */
export function ApiErrorResponse(status: number, description: string, examples: Record<string, ErrorExample>) {
  const error = STATUS_CODES[status] ?? 'Error';
  const namedExamples: Record<string, ApiResponseExamples> = {};
  for (const [name, example] of Object.entries(examples)) {
    const { summary, message } =
      typeof example === 'object' && !Array.isArray(example) ? example : { summary: String(example), message: example };
    namedExamples[name] = { summary, value: { statusCode: status, message, error } };
  }
  return ApiResponse({
    status,
    description,
    type: ErrorResponseDto,
    headers: ERROR_HEADERS[status],
    examples: namedExamples,
  });
}

/**
 * 400, 413 and 415 of a route that reads a JSON body: the given validation examples (ValidationPipe)
 * plus the refusals of HttpPipelineModule, which every body goes through first.
 */
export function ApiJsonBodyErrorResponses(validationExamples: Record<string, ErrorExample>) {
  return applyDecorators(
    ApiErrorResponse(400, 'The body is not valid JSON, or fails validation (missing, unexpected or mistyped fields)', {
      ...validationExamples,
      malformedJson: 'Malformed JSON body',
    }),
    ApiErrorResponse(413, 'The body is larger than 100 kB', { tooLarge: 'Request body is too large' }),
    ApiErrorResponse(415, 'The body is not application/json', { notJson: 'Request body must be application/json' }),
  );
}

/** 503 of a public route that needs the database (a protected route gets it from @Auth). */
export function ApiDatabaseUnavailableResponse() {
  return ApiErrorResponse(503, 'The database is unreachable; try again shortly', {
    databaseUnavailable: 'Database unavailable, try again shortly',
  });
}
