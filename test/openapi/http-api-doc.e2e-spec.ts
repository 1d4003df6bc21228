import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app';

const HTTP_API_DOC = join(resolve(__dirname, '..', '..'), 'docs', 'http-api.md');

/** Served by SwaggerModule beside the document, so the document does not describe them. */
const SERVED_OUTSIDE_THE_DOCUMENT = ['GET /docs', 'GET /docs-json'];

/**
 * Headers the service really sends that the OpenAPI document does not name (yet): the page names them
 * for its readers, so they are the only allowed difference. Each entry must still be missing from the
 * document, so that fixing a decorator forces the entry out of this list.
 */
const NOT_IN_THE_DOCUMENT: Array<{
  routes: string;
  header: string;
  statuses: string[];
}> = [
  // JwtAuthGuard sets both on forward-auth refusals; ApiVerifyOperation names them in prose only.
  { routes: 'GET /api/auth/verify', header: 'X-Auth-Message', statuses: ['401'] },
  { routes: 'GET /api/auth/verify', header: 'Cache-Control', statuses: ['401', '403', '503'] },
];

interface DocumentedRoute {
  auth: string;
  statuses: string[];
  requestHeaders: string[];
  /** "header status" pairs, header in lower case. */
  responseHeaders: string[];
}

interface OpenApiOperation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { headers?: Record<string, unknown> }>;
}
type OpenApiPaths = Record<string, Record<string, OpenApiOperation>>;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const ROUTE_LINES = ['Auth', 'Statuses', 'Request headers', 'Response headers'];

const sorted = (items: Iterable<string>) => [...new Set(items)].sort();
const list = (text: string) => (text === 'none' ? [] : text.split(',').map((item) => item.trim()));

/** "Set-Cookie (200), Retry-After (429, 503)" as ["set-cookie 200", "retry-after 429", "retry-after 503"]. */
function parseResponseHeaders(route: string, text: string): string[] {
  if (text === 'none') return [];
  const pairs: string[] = [];
  const rest = text.replace(
    /([A-Za-z][A-Za-z0-9-]*) \(([\d, ]+)\)(?:, |$)/g,
    (_match, header: string, statuses: string) => {
      for (const status of list(statuses)) pairs.push(`${header.toLowerCase()} ${status}`);
      return '';
    },
  );
  if (rest !== '') throw new Error(`${route}: cannot read "${rest}" in its Response headers line`);
  return pairs;
}

/** Every `### METHOD /path` of the page's Routes section, with its four lines. */
function parseRoutes(markdown: string): Map<string, DocumentedRoute> {
  const section = /^## Routes\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  if (!section) throw new Error('docs/http-api.md has no "## Routes" section');
  const routes = new Map<string, DocumentedRoute>();
  for (const block of section.split(/^### /m).slice(1)) {
    const [heading, ...body] = block.split('\n');
    const route = heading.trim();
    if (!/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/.test(route)) throw new Error(`not a route heading: ### ${heading}`);
    if (routes.has(route)) throw new Error(`${route} is described twice`);
    // A list item may wrap: its continuation lines are indented.
    const items = body
      .join('\n')
      .replace(/\n {2}(?=\S)/g, ' ')
      .split('\n');
    const found: Record<string, string> = {};
    for (const item of items) {
      const match = /^- (Auth|Statuses|Request headers|Response headers): (.+)$/.exec(item);
      if (match) found[match[1]] = match[2].trim();
    }
    const missing = ROUTE_LINES.filter((name) => found[name] === undefined);
    if (missing.length > 0) throw new Error(`${route} lacks its ${missing.join(', ')} line`);
    routes.set(route, {
      auth: found.Auth,
      statuses: sorted(list(found.Statuses)),
      requestHeaders: list(found['Request headers']),
      responseHeaders: sorted(parseResponseHeaders(route, found['Response headers'])),
    });
  }
  return routes;
}

/** "GET /api/auth/sessions/{id}" → the operation the document has for it. */
function operationsOf(paths: OpenApiPaths): Map<string, OpenApiOperation> {
  const operations = new Map<string, OpenApiOperation>();
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (HTTP_METHODS.has(method)) operations.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return operations;
}

function headersOf(operation: OpenApiOperation): string[] {
  return sorted(
    Object.entries(operation.responses).flatMap(([status, response]) =>
      Object.keys(response.headers ?? {}).map((header) => `${header.toLowerCase()} ${status}`),
    ),
  );
}

function gapsOf(route: string): string[] {
  return NOT_IN_THE_DOCUMENT.filter((gap) => gap.routes === route).flatMap((gap) =>
    gap.statuses.map((status) => `${gap.header.toLowerCase()} ${status}`),
  );
}

describe('docs/http-api.md against the OpenAPI document', () => {
  let t: TestApp;
  let documented: Map<string, DocumentedRoute>;
  let operations: Map<string, OpenApiOperation>;

  beforeAll(async () => {
    documented = parseRoutes(await readFile(HTTP_API_DOC, 'utf8'));
    t = await createTestApp({}, 'httpapidoc');
    // The document the running app serves, as the openapi suite obtains it.
    const served = await t.http().get('/docs-json');
    expect(served.status).toBe(200);
    operations = operationsOf((served.body as { paths: OpenApiPaths }).paths);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('describes the same routes (method and path)', () => {
    const onThePage = [...documented.keys()].filter((route) => !SERVED_OUTSIDE_THE_DOCUMENT.includes(route));
    expect(sorted(onThePage)).toEqual(sorted(operations.keys()));
  });

  it('describes the routes served beside the document, and they answer 200', async () => {
    for (const route of SERVED_OUTSIDE_THE_DOCUMENT) {
      expect({ route, onThePage: documented.has(route), inTheDocument: operations.has(route) }).toEqual({
        route,
        onThePage: true,
        inTheDocument: false,
      });
      const response = await t.http().get(route.split(' ')[1]);
      expect({ route, status: response.status }).toEqual({ route, status: 200 });
    }
  });

  it('gives each route the statuses of the document', () => {
    for (const [route, operation] of operations) {
      expect({ route, statuses: documented.get(route)?.statuses }).toEqual({
        route,
        statuses: sorted(Object.keys(operation.responses)),
      });
    }
  });

  it('gives each route the response headers of the document, and only the known additions', () => {
    for (const [route, operation] of operations) {
      const page = documented.get(route);
      const gaps = gapsOf(route);
      expect({ route, headers: page?.responseHeaders }).toEqual({
        route,
        headers: sorted([...headersOf(operation), ...gaps]),
      });
    }
  });

  it('lists no known addition that the document has meanwhile gained', () => {
    const nowInTheDocument = [...operations].flatMap(([route, operation]) => {
      const headers = headersOf(operation);
      return gapsOf(route)
        .filter((pair) => headers.includes(pair))
        .map((pair) => `${route}: ${pair} (drop it from NOT_IN_THE_DOCUMENT)`);
    });
    expect(nowInTheDocument).toEqual([]);
  });

  it('says a route needs an access token, read from Authorization or the cookie, exactly where the document does', () => {
    for (const [route, operation] of operations) {
      const page = documented.get(route);
      const inDocument = (operation.security ?? []).some((scheme) => 'bearer' in scheme);
      const onPage =
        page !== undefined &&
        page.auth.startsWith('an access token') &&
        ['Authorization', 'Cookie'].every((header) => page.requestHeaders.includes(header));
      expect({ route, needsAccessToken: onPage }).toEqual({ route, needsAccessToken: inDocument });
    }
  });
});
