import type { Express } from 'express';

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** Nest mounts route-scoped middleware (the request logger) as a route for every method. */
function isMiddlewareMount(methods: Record<string, boolean>): boolean {
  return ['get', 'post', 'put', 'patch', 'delete', 'options', 'trace'].every((method) => methods[method]);
}

/** The methods that the Express router serves for a path, from its route layers. */
export function expressAllowedMethods(app: Express, path: string): string[] {
  const stack = (app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || isMiddlewareMount(layer.route.methods) || !layer.match(path)) continue;
    for (const [method, enabled] of Object.entries(layer.route.methods)) {
      if (enabled && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  return [...methods];
}
