// How an answer is judged against the HTTP API (docs/http-api.md): the expected status, the shape of a
// successful answer, the body and headers of a refusal. Also the token and cookie reading the virtual
// users need to act like their kind of client.

const USER_FIELDS = ['createdAt', 'id', 'roles', 'username'];

export function decodeClaims(token) {
  try {
    return JSON.parse(Buffer.from(String(token).split('.')[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

/** `Set-Cookie` lines by cookie name: `{ value, cleared, attributes }`. */
export function parseSetCookies(response) {
  const cookies = {};
  for (const line of response.headers?.['set-cookie'] ?? []) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator);
    const value = decodeURIComponent(pair.slice(separator + 1));
    const expired = attributes.some(
      (attribute) => /^max-age=0$/i.test(attribute) || /^expires=.*1970/i.test(attribute),
    );
    cookies[name] = { value, cleared: value === '' || expired, attributes };
  }
  return cookies;
}

// Checks of a successful answer's shape. Each returns a description of what is wrong, or nothing.

export function checkUser(json, username) {
  if (!json || typeof json !== 'object') return 'user: no JSON body';
  const fields = Object.keys(json).sort();
  if (fields.join() !== USER_FIELDS.join()) return `user: fields ${fields.join()} instead of ${USER_FIELDS.join()}`;
  if (typeof json.id !== 'string') return 'user: id is not a string';
  if (json.username !== username) return `user: username ${json.username}, expected ${username}`;
  if (JSON.stringify(json.roles) !== '["user"]') return `user: roles ${JSON.stringify(json.roles)}`;
  if (Number.isNaN(Date.parse(json.createdAt))) return 'user: createdAt is not a date';
}

function checkNoStore(response) {
  if (!/no-store/.test(response.headers['cache-control'] ?? ''))
    return 'a response with a token lacks Cache-Control: no-store';
}

function checkTokenPair(response) {
  const json = response.json;
  if (!json || typeof json.accessToken !== 'string' || typeof json.refreshToken !== 'string') return 'no token pair';
  if (json.tokenType !== 'Bearer' || !(json.expiresIn > 0)) return 'token pair: wrong tokenType or expiresIn';
  return checkNoStore(response);
}

export function checkLogin(response) {
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.value || !cookies.refreshToken?.value)
    return 'login set no accessToken/refreshToken cookie';
  return checkTokenPair(response);
}

export function checkBodyRefresh(response) {
  if (response.headers['set-cookie']) return 'a refresh from the body set cookies';
  return checkTokenPair(response);
}

export function checkCookieRefresh(response) {
  const json = response.json;
  if (!json || 'accessToken' in json || 'refreshToken' in json)
    return 'a refresh from the cookie put tokens in the body';
  if (json.tokenType !== 'Bearer' || !(json.expiresIn > 0)) return 'cookie refresh: wrong tokenType or expiresIn';
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.value || !cookies.refreshToken?.value)
    return 'a refresh from the cookie set no new cookies';
  return checkNoStore(response);
}

function checkCookiesCleared(response) {
  const cookies = parseSetCookies(response);
  if (!cookies.accessToken?.cleared || !cookies.refreshToken?.cleared) return 'both cookies were not cleared';
}

export const checkMessage = (expected) => (response) =>
  response.json?.message === expected ? checkCookiesCleared(response) : `message ${response.json?.message}`;

/** A refused token on a protected route: the contract's body and WWW-Authenticate header. */
export function checkRefusedToken(response) {
  if (response.json?.message !== 'Unauthorized') return `401 message ${JSON.stringify(response.json?.message)}`;
  const challenge = response.headers['www-authenticate'] ?? '';
  if (!/^Bearer\b/.test(challenge) || !/error="invalid_token"/.test(challenge)) {
    return `401 with WWW-Authenticate ${JSON.stringify(challenge)}, expected Bearer error="invalid_token"`;
  }
}

export function checkRefusedRefresh(response) {
  if (response.json?.statusCode !== 401) return '401 without the error body';
}

/** Results files get shared: the run's tokens (worthless after it, but noise) are shown by kind only. */
export function redactTokens(text) {
  return text
    ?.replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '<access token>')
    .replace(/[a-f0-9]{24}\.\d+\.[\w-]{43}/g, '<refresh token>');
}

export function sameOriginHeaders(instance) {
  // What a browser adds to a same-origin fetch: the CSRF policy must let it through.
  return { origin: instance.baseUrl, 'sec-fetch-site': 'same-origin' };
}

export function judge(response, expect) {
  if (response.error) return { failureClass: 'unexpected', reason: `no response: ${response.error}` };
  if (response.status >= 500) return { failureClass: 'serverError', reason: `${response.status} from the server` };
  const allowed = [expect.status].flat();
  if (!allowed.includes(response.status)) {
    if (expect.revoked && response.status >= 200 && response.status < 300) {
      return { failureClass: 'wronglyAccepted', reason: `accepted: ${expect.revoked}` };
    }
    return { failureClass: 'unexpected', reason: `status ${response.status}, expected ${allowed.join(' or ')}` };
  }
  const problem = response.status < 300 || expect.revoked ? expect.check?.(response) : undefined;
  return problem ? { failureClass: 'unexpected', reason: problem } : null;
}
