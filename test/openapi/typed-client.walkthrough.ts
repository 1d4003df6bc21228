/**
 * A client that knows the API only through openapi.json: every path, method, body and response below
 * is typed by what openapi-typescript generates from the document, so a field the document renames or
 * drops, or a typo here, fails type-checking. test/openapi/openapi.e2e-spec.ts type-checks this file
 * (tsconfig.walkthrough.json) and then runs walkThrough() against a real server.
 */
import type { components, paths } from '../../test-output/openapi/schema';

type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
/** The JSON body an operation takes (never: it takes none). */
type RequestBody<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The statuses the document lists for an operation. */
type Status<O> = O extends { responses: infer R } ? keyof R & number : never;
/** The JSON body of one documented response (never: it has none). */
type ResponseBody<O, S extends Status<O>> = O extends { responses: infer R }
  ? R[S & keyof R] extends { content: { 'application/json': infer B } }
    ? B
    : never
  : never;

interface CallOptions<O> {
  body?: RequestBody<O>;
  accessToken?: string;
}

/** One request; resolves with the typed body when the answer has the expected, documented status. */
async function call<P extends keyof paths, M extends Method, S extends Status<Operation<P, M>>>(
  baseUrl: string,
  method: M,
  path: P,
  expectedStatus: S,
  options: CallOptions<Operation<P, M>> = {},
): Promise<ResponseBody<Operation<P, M>, S>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.accessToken !== undefined) headers.authorization = `Bearer ${options.accessToken}`;
  const res = await fetch(new URL(path, baseUrl), {
    method: method.toUpperCase(),
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  if (res.status !== expectedStatus) {
    throw new Error(`${method.toUpperCase()} ${path}: expected ${expectedStatus}, got ${res.status} ${text}`);
  }
  return (text === '' ? undefined : JSON.parse(text)) as ResponseBody<Operation<P, M>, S>;
}

/** The contract's user (docs/http-api.md), written out: the generated type must fit it exactly. */
interface ContractUser {
  id: string;
  username: string;
  roles: string[];
  createdAt: string;
}

export interface WalkThroughResult {
  registered: ContractUser;
  tokens: { accessToken: string; refreshToken: string; tokenType: 'Bearer'; expiresIn: number };
  me: ContractUser;
  logout: { message: string };
  meAfterLogout: Schemas['ErrorResponseDto'];
}

/** register, login, me, logout, and me again with the revoked token. */
export async function walkThrough(baseUrl: string, credentials: Schemas['CredentialsDto']): Promise<WalkThroughResult> {
  const registered: Schemas['UserResponseDto'] = await call(baseUrl, 'post', '/api/auth/register', 201, {
    body: { username: credentials.username, password: credentials.password },
  });

  const pair = await call(baseUrl, 'post', '/api/auth/login', 200, { body: credentials });
  const tokenType: 'Bearer' = pair.tokenType;
  const accessToken: string = pair.accessToken;

  const me = await call(baseUrl, 'get', '/api/users/me', 200, { accessToken });
  const logout = await call(baseUrl, 'post', '/api/auth/logout', 200, { accessToken });
  const meAfterLogout = await call(baseUrl, 'get', '/api/users/me', 401, { accessToken });

  return {
    registered,
    tokens: { accessToken, refreshToken: pair.refreshToken, tokenType, expiresIn: pair.expiresIn },
    me: { id: me.id, username: me.username, roles: me.roles, createdAt: me.createdAt },
    logout: { message: logout.message },
    meAfterLogout,
  };
}
