import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { BEARER_SCHEME, COOKIE_SCHEME } from '../common/http/openapi';

/** Kept equal to package.json's version by test/openapi/openapi.e2e-spec.ts. */
export const API_VERSION = '0.1.0';

const API_DESCRIPTION = `Authentication whose logout revokes: every access token names a session, every request checks
that the session is still live, and logout ends the session.

## The flow

1. \`POST /api/auth/register\` with \`{username, password}\` creates a user (\`201\`, roles \`["user"]\`).
2. \`POST /api/auth/login\` with the same body starts a session. It answers with a token pair
   \`{accessToken, refreshToken, tokenType: "Bearer", expiresIn}\` and also sets both tokens as HttpOnly cookies.
   - The **access token** is a short-lived JWT (HS256, \`ACCESS_TOKEN_EXPIRY\`, 15 minutes by default; \`expiresIn\`
     is its lifetime in seconds). It carries \`sub\` (user id) and \`sid\` (session id).
   - The **refresh token** is opaque and single-use, bound to the session, stored by the server only hashed.
3. Call protected routes with \`Authorization: Bearer <accessToken>\` (REST clients) or the \`accessToken\` cookie
   (browsers). When both are present the header wins. \`GET /api/users/me\` returns the caller.
4. Before the access token expires (a \`401\` with message \`"Access token expired"\` says it did), exchange the refresh
   token at \`POST /api/auth/refresh\`: in the body \`{refreshToken}\` and the new pair comes back in the body, or in
   the \`refreshToken\` cookie and new cookies come back (the body then holds no token). Each refresh rotates: the
   presented token becomes invalid. Presenting an older refresh token again is reuse: \`401\`, and the whole session
   is revoked.
5. \`POST /api/auth/logout\` revokes the session and clears both cookies. From the moment it answers, that
   session's access and refresh tokens get \`401\`, although they have not expired.
   \`POST /api/auth/logout-all\` does the same for every session of the user; \`GET /api/auth/sessions\` and
   \`DELETE /api/auth/sessions/{id}\` list and end single sessions.

## Cookies and CSRF

\`accessToken\` (\`Path=/\`) and \`refreshToken\` (\`Path=/api/auth\`) are \`HttpOnly\`, \`Secure\` and \`SameSite=Strict\`
by default. A state-changing request (\`POST\`, \`PUT\`, \`PATCH\`, \`DELETE\`) authenticated by a cookie is refused
with \`403\` when its \`Origin\` is not allowed (\`CORS_ORIGINS\`, or the server's own origin) or it is
\`Sec-Fetch-Site: cross-site\`. Requests authenticated by the \`Authorization\` header are not subject to this.
Every response that carries a token has \`Cache-Control: no-store\`; a token is never accepted from a URL.

## Errors

Every error has the body \`{"statusCode": number, "message": string | string[], "error": string}\`
(\`ErrorResponseDto\`); \`message\` is a list for validation errors. A \`401\` from a protected route carries
\`WWW-Authenticate: Bearer\`. \`429\` (more than \`AUTH_RATE_LIMIT\` requests a minute from one address to
\`/api/auth/*\` but \`verify\`, or to the password change, or too many failed password checks for one
username from one address) carries \`Retry-After\`. A client address is an IPv4 address or an IPv6 /64.
\`503\` means the database (or Redis) cannot be reached right now, or too many password checks are queued
(with \`Retry-After\`); try again shortly.`;

/**
 * The OpenAPI document of the application: the one source for both /docs and /docs-json (configureApp)
 * and the committed openapi.json (generate-openapi.ts). The app's global prefix must already be set.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return closeRequestBodies(
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('secure-logout-jwt')
        .setDescription(API_DESCRIPTION)
        .setVersion(API_VERSION)
        .setLicense('MIT', 'https://opensource.org/licenses/MIT')
        // Relative: the server that serves this document (its paths already include the /api prefix).
        .addServer('/', 'The server that serves this document')
        .addTag('auth', 'Register, log in, refresh, log out, and manage sessions')
        .addTag('users', 'The caller, and every user for administrators')
        .addTag('health', 'Probes for orchestrators and load balancers (outside /api)')
        .addBearerAuth(
          {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The `accessToken` from login or refresh',
          },
          BEARER_SCHEME,
        )
        .addCookieAuth(
          'accessToken',
          {
            type: 'apiKey',
            in: 'cookie',
            name: 'accessToken',
            description: 'The HttpOnly cookie set by login and refresh',
          },
          COOKIE_SCHEME,
        )
        .build(),
    ),
  );
}

/**
 * The global ValidationPipe refuses unknown properties (forbidNonWhitelisted), as the contract says;
 * the request body schemas say so too (`additionalProperties: false`), which @nestjs/swagger has no
 * decorator for. Found by Schemathesis: bodies with extra fields were documented as valid.
 */
function closeRequestBodies(document: OpenAPIObject): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem)) {
      const content = (operation as { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } })
        ?.requestBody?.content;
      for (const media of Object.values(content ?? {})) {
        const name = media.schema?.$ref?.replace('#/components/schemas/', '');
        const schema = name ? schemas[name] : undefined;
        if (schema && 'properties' in schema) schema.additionalProperties = false;
      }
    }
  }
  return document;
}
